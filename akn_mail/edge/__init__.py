"""The edge: where mail enters. The SMTP/LMTP server (ingress) and the durable spool it
writes before it answers 250."""
