"""Why a staff sign-in step, a device reset or an unlock was refused. Nothing was changed."""


class SecondFactorRefused(Exception):
    """The code was wrong, already used, or the device is throttled after earlier wrong codes."""


class LockNotFound(Exception):
    """No failed-login record of that username and address is left to release."""
