"""Webhooks: each account's events posted, signed, to its status_callback URL.

- `events`: the event types (EventType) and the hooks that record them (WebhookEvents)
- `settings`: the URL (checked: http(s), not the switch itself) and the secret
- `signing`: the Softswitch-Signature header (HMAC-SHA256, Stripe's scheme)
- `delivery`: the worker posting the outbox, per account in order, with back-off
- `service`: Webhooks, the three built together
The outbox and the attempts live in `softswitch.store.webhooks`.
"""
