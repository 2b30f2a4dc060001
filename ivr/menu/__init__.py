"""The menu: a YAML phone tree read with its locations, validated, and frozen into a model.

`load_menu(path)` is the one way in; everything else (the line, the staff tools, the
simulators) reads the `Menu` it returns.
"""

from .model import Menu
from .problems import MenuInvalid, MenuProblem
from .validate import DEFAULT_MENU, MAX_BYTES, load_menu, load_menu_bytes, read_menu_file

__all__ = ["DEFAULT_MENU", "MAX_BYTES", "Menu", "MenuInvalid", "MenuProblem", "load_menu", "load_menu_bytes", "read_menu_file"]
