"""Shown instead of the results while sign-in is on and nobody can sign in yet."""

from ui.i18n import language_switch
from ui.page import signin_page

language_switch()
signin_page()
