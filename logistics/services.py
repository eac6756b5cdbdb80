from logistics.models import Courier


def courier_upsert(*, code: str, name: str) -> Courier:
    courier, _created = Courier.objects.update_or_create(code=code, defaults={"name": name})
    return courier
