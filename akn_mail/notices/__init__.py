"""Notices: every mail the list writes itself (templates, footer), held mail and its
moderation, -request/-owner answers, reminders and admin tasks."""
