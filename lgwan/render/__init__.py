"""Pure renderers: plan data in, configuration text out. No I/O, no root."""
