"""Language, not menus: words and their stems, phrases heard in a sentence, a word model of what
callers describe, and topics by their own words. The line (ivr/line/hearing.py) puts these
together with a menu; nothing here knows about menus, calls or HTTP."""
