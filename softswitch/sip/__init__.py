"""The SIP library (RFC 3261 and friends): no call logic, nothing above it imported.

Bottom up, one concept per module:

- errors: SipError, SipParseError
- grammar: RFC 3261 section 25 shared by everything that reads header text
  (tokens, quoted strings, escapes, parameters, comma lists, host and port)
- uri (SipUri), address (Address: name-addr), via (Via)
- headers: header names and compact forms, the Headers list
- message: Request and Response (header views, to_bytes, make_response, ids)
- parser: parse_message, bytes to a Request or Response
- framing: StreamFramer, message boundaries on TCP
- transport: UDP and TCP on one port
- transaction: client and server transactions, TransactionState, Timers
- dialog: Dialog, DialogState
- auth: HTTP Digest, client and server (DigestServer)
- sdp: SDP and offer/answer
- reliable: RFC 3262 100rel/PRACK bookkeeping (RSeq, RAck, PrackMode)
- ua: UserAgent, the core that ties transport, transactions and dialogs together
- invite: IncomingInvite / OutgoingInvite, the INVITE dialog usages
"""
