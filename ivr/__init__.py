"""A YAML phone tree served to Twilio as TwiML: the Denver trafficking-awareness line.

The data path is the folder tree: `menu/` (YAML -> validated, frozen model), `line/`
(model -> TwiML -> Flask webhooks, the live menu), `sim/` (simulated callers that use the
line's HTTP routes), `staff/` (lint and diagram), and `cli.py` on top.
"""

from .app import create_app
from .line.security import ConfigError
from .menu import MenuInvalid, MenuProblem, load_menu

__all__ = ["ConfigError", "MenuInvalid", "MenuProblem", "create_app", "load_menu"]
