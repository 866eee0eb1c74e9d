"""CRM clients: HubSpot and Salesforce through their official Python libraries.

Each client is built from the environment at call time (DESIGN §3), paces itself below the
account's rate limit, retries only what is safe to retry, and translates both libraries' errors
into `healthscore.crm.errors`. The sync engine (`healthscore.writeback`) and alert delivery use
these clients; neither talks HTTP itself.
"""
