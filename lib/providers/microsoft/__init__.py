"""Microsoft 365 / Outlook: Graph events as busy time, live busy reads, and the booking event
written to Outlook (`provider.MicrosoftProvider`). Importing the package loads nothing else."""

NAME = "microsoft"
