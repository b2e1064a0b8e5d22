"""Provider `none`: weekly hours only (`provider.NoCalendarProvider`). Importing the package loads
nothing else."""

NAME = "none"
