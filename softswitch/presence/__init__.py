"""Busy lamps: what a watcher sees of an extension's calls (RFC 4235 dialog, RFC 3863
presence), told by NOTIFY in RFC 6665 subscriptions (softswitch.sip.subscription)."""
