"""A YAML phone tree served to Twilio as TwiML: the Denver trafficking-awareness line."""

from .app import create_app
from .errors import MenuInvalid, MenuProblem
from .validate import load_menu

__all__ = ["create_app", "load_menu", "MenuInvalid", "MenuProblem"]
