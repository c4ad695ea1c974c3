"""Voicemail: a box per extension, messages left after the greeting and the beep, the
phone's message lamp (MWI, RFC 3842) and listening from the phone (*97).

- `box`: the boxes the config declares, their folders and PINs
- `greeting`: what a caller hears before the beep
- `recording`: when a message ends (silence, the time limit)
- `deposit`: a caller leaves a message
- `summary`: the message-summary body (RFC 3842)
- `mwi`: which phones are told, by subscription or unsolicited NOTIFY
- `access`: the *97 PIN and menu
- `service`: `Voicemail`, what the switch and the API call
"""
