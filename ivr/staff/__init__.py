"""Staff tools on a valid menu: lint (advice, timings) and the diagram."""
