"""How a team's `remote` setting reads: ssh command lines as people write them, and exec
prefixes (`docker exec -i c`). Pure parsing, below `config` (which validates with it) and
`transports` (which runs what it describes)."""
