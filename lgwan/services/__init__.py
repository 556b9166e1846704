"""Small services the lab runs inside nodes. Standard library only: they start fast."""
