"""The API's rules, apart from HTTP: routes, jobs and the agent's callbacks all go through here."""
