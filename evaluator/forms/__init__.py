"""Collection forms (一表报送、多方共享): one form per unit asking each figure once, and the
overlap and burden report across schemes."""
