"""Rules several services apply, in one place so they cannot drift apart. Pure.

contacts (phone and email normalisation, how contacts compare, a recognized sender),
appointments (the newest version of an appointment, the next upcoming one), availability
(away / on shift), signing (the HMAC timestamp.body signature), boxes (shared inbox names).
"""
