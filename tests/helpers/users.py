"""Sign-in test helpers: a password, a fresh app store, signing in through the page."""

from __future__ import annotations

from pathlib import Path

PW = "river-stone-42"


def _fresh(db: Path) -> None:
    """No users, no log: the state each gate test starts from."""
    for p in db.parent.glob(db.stem + ".app.db*"):
        p.unlink()


def sign_in(at, name: str, password: str):
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at

