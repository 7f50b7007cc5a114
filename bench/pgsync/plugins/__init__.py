"""pgsync plugins for the pg2es benchmark (loaded by pgsync as the package `plugins`)."""
