"""Going live: the Twilio number configured, checked and cleaned up from the command line."""
