-- record_key: the bucket key of a timer's record (prelude.lua's tr_rec_key), for
-- tests and tools that look at the layout; it changes nothing, and the programs
-- never call it.
-- KEYS: 1 timers (the records' base key)
-- ARGV: 1 id
-- Answer: the bucket key, e.g. {P}:timers:0a1f
return tr_rec_key(KEYS[1], ARGV[1])
