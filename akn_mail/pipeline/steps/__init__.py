"""The posting pipeline's steps, one per module; their order is ``akn_mail.pipeline.STEPS``."""
