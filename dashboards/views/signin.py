"""Shown instead of the results while sign-in is on and nobody is signed in: the sign-in form,
or, when no user exists yet, how to add one."""

from ui.auth import signin_page
from ui.i18n import language_switch

language_switch()
signin_page()
