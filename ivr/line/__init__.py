"""The line: the menu model rendered as TwiML, served by Flask webhooks, reloaded live."""
