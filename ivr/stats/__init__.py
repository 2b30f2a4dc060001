"""Anonymous call statistics: counters the line adds to, their database, reports and the /stats page."""
