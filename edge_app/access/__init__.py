"""Who may reach the site app and head office, shared by both (neither imports the other):

* :mod:`.hosts`: the ``Host:`` names a server answers (DNS rebinding);
* :mod:`.throttle`: a password throttle that answers "wait" instead of making a thread wait;
* :mod:`.connections`: a cap on the connections one client address holds on the site app;
* :mod:`.setup_code`: the one-time code the first visit needs to choose the PIN (optional).
"""
