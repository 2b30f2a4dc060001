"""Run the line: `python server.py` (development) or `gunicorn server:app` (production).

Refuses to start only when there is no valid menu at all (neither the file nor a last good
copy) or a setting is unusable, and says why in plain words.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

from ivr import ConfigError, MenuInvalid, create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

try:
    app = create_app()
except MenuInvalid as err:
    print(
        f"The menu has errors and there is no last good copy to serve; the line will not start until they are fixed:\n{err}",
        file=sys.stderr,
    )
    sys.exit(1)
except ConfigError as err:
    print(f"The line will not start: {err}", file=sys.stderr)
    sys.exit(1)

if __name__ == "__main__":
    # Stopped with SIGTERM (kill, systemd, docker stop) as with Ctrl-C: exit cleanly, so the
    # statistics still in memory are saved on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
