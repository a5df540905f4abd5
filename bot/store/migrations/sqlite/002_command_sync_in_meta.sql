-- Version 2: The slash-command sync digest moved to `meta` (key 'command_sync:<target>').
DROP TABLE command_sync;
