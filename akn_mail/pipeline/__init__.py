"""The pipeline: the serve worker takes each spooled message through one tuple of steps
(chain), one step per module (steps/), with a typed context; the processor drives it."""
