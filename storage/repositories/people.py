"""People the programme serves: find them by phone, ID number or name in a village; create
them; read an ID number back only through the cipher (for an administrator's export)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import PiiCipher
from storage.models import Person


class PeopleRepository:
    def __init__(self, session: AsyncSession, pii: PiiCipher | None) -> None:
        self.session = session
        self._pii = pii

    @property
    def pii(self) -> PiiCipher:
        if self._pii is None:
            raise RuntimeError("this repository was built without a PII cipher")
        return self._pii

    async def get(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def for_user(self, user_id: int) -> Person | None:
        return (
            await self.session.execute(select(Person).where(Person.user_id == user_id))
        ).scalar_one_or_none()

    async def by_phone(self, phone: str) -> list[Person]:
        stmt = select(Person).where(Person.phone == phone).order_by(Person.id)
        return list((await self.session.execute(stmt)).scalars())

    async def by_id_number(self, number: str) -> Person | None:
        stmt = select(Person).where(Person.id_hash == self.pii.lookup_hash(number))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def named(self, county: str | None, village: str | None, name: str) -> list[Person]:
        """People of that name in that village (several people may share a name)."""
        stmt = select(Person).where(
            Person.name == name, Person.county == county, Person.village == village
        )
        return list((await self.session.execute(stmt.order_by(Person.id))).scalars())

    async def create(
        self,
        *,
        name: str,
        now: datetime,
        created_by: int | None,
        phone: str | None = None,
        county: str | None = None,
        township: str | None = None,
        village: str | None = None,
        poor_registered: bool | None = None,
        category: str | None = None,
        consent_at: datetime | None = None,
        user_id: int | None = None,
    ) -> Person:
        person = Person(
            name=name,
            phone=phone,
            county=county,
            township=township,
            village=village,
            poor_registered=poor_registered,
            category=category,
            consent_at=consent_at,
            user_id=user_id,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        self.session.add(person)
        await self.session.flush()
        return person

    def set_id_number(
        self, person: Person, number: str, *, birth_date: date, sex: str, consent_at: datetime
    ) -> None:
        """Keep the ID number encrypted, with the separate consent that allows it."""
        person.id_number_enc = self.pii.encrypt(number)
        person.id_hash = self.pii.lookup_hash(number)
        person.birth_date = birth_date
        person.sex = sex
        person.id_consent_at = consent_at

    def id_number(self, person: Person) -> str | None:
        """The full number; only an administrator's export may show it."""
        return self.pii.decrypt(person.id_number_enc) if person.id_number_enc else None
