"""A random alliance for property tests of the access rule: hospitals, agreements, people of every role, patients,
archive studies and referrals in every state, generated from a seed and written straight into PostgreSQL.

The values it writes are also kept as domain values (principals, referral scopes, studies, readers), so a test
can decide in Python what the SQL must return. Ids carry a per-run suffix: other tests' rows never collide.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.db.schema import (
    agreements,
    audit_events,
    dicom_studies,
    film_consents,
    hospitals,
    patient_index,
    patients,
    reader_licences,
    reader_subspecialties,
    referrals,
    regional_patients,
    users,
)
from yilian.domain.access import Principal, ReferralScope, ReferralStudy, StudyScope
from yilian.domain.referral import ReferralState
from yilian.domain.roles import READER_ROLES, Role
from yilian.domain.routing import Reader

# States in which routing has named someone: offered (offered_to), read or being read (reader_id).
_OFFERED = {ReferralState.OFFERED}
_READ = set(ReferralState) - {ReferralState.SUBMITTED, ReferralState.AWAITING_IMAGES, ReferralState.OFFERED}
STORED_ROLES = (Role.COUNTY_DOCTOR, Role.EXPERT, Role.SENIOR, Role.COORDINATOR, Role.ADMIN)
UNSTORED_ROLES = (Role.PATIENT, Role.GATEWAY, Role.SYSTEM)  # principals the API builds without a user row


@dataclass(frozen=True)
class Case:
    id: str
    scope: ReferralScope
    state: ReferralState
    patient_ref: str
    study: ReferralStudy


@dataclass
class Population:
    suffix: str
    actor_id: str  # the one actor of every audit event the population writes
    reading: list[str] = field(default_factory=list)
    counties: list[str] = field(default_factory=list)
    agreements: list[tuple[str, str, str]] = field(default_factory=list)  # (id, requesting, reading)
    in_house: list[str] = field(default_factory=list)  # hospitals that also read some of their own cases (本院写片)
    readers: dict[str, Reader] = field(default_factory=dict)  # every stored user, as routing sees them
    principals: list[Principal] = field(default_factory=list)  # every active user, plus unstored roles
    cases: list[Case] = field(default_factory=list)
    studies: list[StudyScope] = field(default_factory=list)
    # The regional patient index (cloud film): hospital record -> regional patient, and whether each regional patient
    # consents to 检查结果互认 now (withdrawn and never given are both False).
    regional: dict[str, str] = field(default_factory=dict)
    consents: dict[str, bool] = field(default_factory=dict)
    record_of: dict[tuple[str, str], str] = field(default_factory=dict)  # (hospital, Patient ID) -> patient_ref
    record_hospital: dict[str, str] = field(default_factory=dict)  # patient_ref -> hospital

    def recognised(
        self, s: StudyScope, *, as_if_consenting: bool = False
    ) -> tuple[frozenset[str], list[ReferralScope]]:
        """What 检查结果互认 opens on `s` (can_view_study's recognised_at and recognised_cases): the hospitals holding
        a record of its patient, and that patient's cases, while the patient consents (or as if they did)."""
        rid = self.regional.get(self.record_of.get((s.hospital_id, s.patient_id), ""))
        if rid is None or not (as_if_consenting or self.consents[rid]):
            return frozenset(), []
        refs = {ref for ref, r in self.regional.items() if r == rid}
        cases = [c.scope for c in self.cases if c.patient_ref in refs]
        return frozenset(self.record_hospital[ref] for ref in refs), cases

    @property
    def routes(self) -> list[tuple[str | None, str, str]]:
        """Every (agreement, requesting, reading) a case goes by: the agreements, and each in-house hospital reading
        for itself under no agreement."""
        return [*self.agreements, *((None, h, h) for h in self.in_house)]

    @property
    def case_ids(self) -> list[str]:
        return [c.id for c in self.cases]

    @property
    def study_uids(self) -> list[str]:
        return [s.study_instance_uid for s in self.studies]


def _uid(rng: random.Random) -> str:
    return "2.25." + str(rng.getrandbits(100))


async def make_population(  # noqa: PLR0915 - one linear story of what the alliance holds
    engine: AsyncEngine,
    *,
    seed: int,
    reading_hospitals: int = 3,
    county_hospitals: int = 4,
    cases: int = 400,
    studies_per_hospital: int = 25,
) -> Population:
    rng = random.Random(seed)
    s = uuid.uuid4().hex[:6]  # not from the seed: a second run in the same database must not collide
    now = datetime.now(UTC)
    pop = Population(suffix=s, actor_id=f"pop-actor-{s}")
    pop.reading = [f"h-pr{i}-{s}" for i in range(reading_hospitals)]
    pop.counties = [f"h-pc{i}-{s}" for i in range(county_hospitals)]
    every_hospital = pop.reading + pop.counties
    hospital_rows = [
        {"id": h, "name": h, "level": "tertiary" if h in pop.reading else "county", "patient_id_issuer": f"I-{h}",
         "created_at": now}
        for h in every_hospital
    ]  # fmt: skip

    # Agreements: most counties send to two reading hospitals, one to a single one; one reading hospital also
    # sends to another (a tertiary hospital asking a second opinion), so "reading" and "county" cross.
    pairs = {(c, r) for c in pop.counties for r in rng.sample(pop.reading, rng.choice([1, 2]))}
    pairs.add((pop.reading[0], pop.reading[-1]))
    pop.agreements = [(f"agr-p{i}-{s}", req, read) for i, (req, read) in enumerate(sorted(pairs))]
    # In-house reading: a reading hospital and a county read some of their own cases, under no agreement.
    pop.in_house = [pop.reading[1], pop.counties[0]]

    # People: every role at every hospital it can sit at, readers with random licences (none, some, a hospital
    # they have no agreement with), juniors, off duty, inactive; admins without a hospital.
    user_rows: list[dict[str, object]] = []
    licences: list[dict[str, str]] = []
    subspecialties: list[dict[str, str]] = []

    def person(role: Role, hospital: str | None) -> None:
        uid = f"pop-{role.value[:5]}{len(user_rows)}-{s}"
        licensed = frozenset(rng.sample(every_hospital, rng.choice([0, 1, 1, 2, 3])) if role in READER_ROLES else [])
        served = [req for _, req, read in pop.agreements if read == hospital]
        if role in READER_ROLES and served and rng.random() < 0.5:
            # Many readers hold a licence for a hospital theirs serves, so grants by licence are common.
            licensed |= {rng.choice(served)}
        kinds = [("CT", "*"), ("CT", "CHEST"), ("MR", "HEAD"), ("*", "*")]
        subs = tuple(sorted(rng.sample(kinds, rng.choice([0, 1, 2]))))
        reader = Reader(
            user_id=uid, name=uid, role=role, hospital_id=hospital, active=rng.random() > 0.1,
            on_duty=rng.random() > 0.3, is_junior=rng.random() < 0.3, licensed_for=licensed, subspecialties=subs,
        )  # fmt: skip
        pop.readers[uid] = reader
        user_rows.append(
            {"id": uid, "username": uid, "password_hash": "-", "display_name": uid, "role": role.value,
             "hospital_id": hospital, "is_junior": reader.is_junior, "on_duty": reader.on_duty,
             "active": reader.active, "created_at": now}
        )  # fmt: skip
        licences.extend({"user_id": uid, "hospital_id": h} for h in sorted(licensed))
        subspecialties.extend({"user_id": uid, "modality": m, "body_part": b} for m, b in subs)
        if reader.active:
            pop.principals.append(Principal(uid, role, hospital, uid, licensed))

    for h in pop.reading:
        for role, n in ((Role.EXPERT, 6), (Role.SENIOR, 3), (Role.COORDINATOR, 2), (Role.COUNTY_DOCTOR, 1)):
            for _ in range(n):
                person(role, h)
    for h in pop.counties:
        for role, n in ((Role.COUNTY_DOCTOR, 3), (Role.COORDINATOR, 1), (Role.EXPERT, 1)):
            for _ in range(n):
                person(role, h)
    for _ in range(2):
        person(Role.ADMIN, None)
    for role in UNSTORED_ROLES:
        pop.principals.append(Principal(f"pop-{role.value}-{s}", role, None, role.value))
        pop.principals.append(Principal(f"pop-{role.value}-h-{s}", role, rng.choice(every_hospital), role.value))
    readers_at = {h: [u for u, r in pop.readers.items() if r.hospital_id == h and r.role in READER_ROLES]
                  for h in every_hospital}  # fmt: skip
    any_reader = [u for u, r in pop.readers.items() if r.role in READER_ROLES]
    doctors_at = {h: [u for u, r in pop.readers.items() if r.hospital_id == h and r.role is Role.COUNTY_DOCTOR]
                  for h in every_hospital}  # fmt: skip

    # Patients: Patient IDs repeat across hospitals (a hospital's IDs are its own namespace).
    patient_rows: list[dict[str, object]] = []
    patients_at: dict[str, list[tuple[str, str]]] = {}  # hospital -> [(patient_ref, patient_id)]
    for h in every_hospital:
        for n in rng.sample(range(12), 8):
            ref = f"pop-pat-{h}-{n}"
            patient_rows.append(
                {"id": ref, "hospital_id": h, "issuer": f"I-{h}", "patient_id": f"P{n:03d}", "name": ref,
                 "birth_date": date(1960, 1, 1), "sex": "F", "created_at": now}
            )  # fmt: skip
            patients_at.setdefault(h, []).append((ref, f"P{n:03d}"))
            pop.record_of[(h, f"P{n:03d}")] = ref
            pop.record_hospital[ref] = h

    # The regional patient index: people with records at one to three hospitals linked as one regional patient, who
    # consent to 检查结果互认, withdrew it, or never gave it; a fifth of the records stay out of the index.
    regional_rows: list[dict[str, object]] = []
    index_rows: list[dict[str, object]] = []
    consent_rows: list[dict[str, object]] = []
    records = [(ref, h) for h, recs in patients_at.items() for ref, _ in recs]
    rng.shuffle(records)
    while records:
        group: list[tuple[str, str]] = []
        want = rng.choice([1, 2, 2, 3, 3])
        for record in list(records):
            if len(group) < want and record[1] not in {h for _, h in group}:
                group.append(record)
                records.remove(record)
        if rng.random() < 0.2:
            continue
        rid = f"pop-rp{len(regional_rows)}-{s}"
        regional_rows.append({"id": rid, "name": rid, "sex": "F", "birth_date": date(1960, 1, 1), "created_at": now})
        for ref, _ in group:
            index_rows.append({"patient_ref": ref, "regional_patient_id": rid, "how": "exact", "linked_at": now})
            pop.regional[ref] = rid
        consent = rng.choice(["granted", "granted", "withdrawn", "never"])
        if consent != "never":
            consent_rows.append({"regional_patient_id": rid, "granted_at": now, "granted_via": "desk",
                                 "revoked_at": now if consent == "withdrawn" else None})  # fmt: skip
        pop.consents[rid] = consent == "granted"

    # Archive studies: each hospital stores studies of its patients and of Patient IDs it never registered.
    study_rows: list[dict[str, object]] = []
    studies_at: dict[str, list[StudyScope]] = {}
    for h in every_hospital:
        for _ in range(studies_per_hospital):
            pid = rng.choice([p for _, p in patients_at[h]] + ["P900", "P901"])
            st = StudyScope(_uid(rng), h, pid)
            pop.studies.append(st)
            studies_at.setdefault(h, []).append(st)
            study_rows.append(
                {"study_instance_uid": st.study_instance_uid, "hospital_id": h, "patient_id": pid,
                 "issuer_of_patient_id": f"I-{h}", "attributes": "{}", "created_at": now, "updated_at": now}
            )  # fmt: skip

    # Referrals: in every state, named readers mostly of the reading hospital (sometimes anyone's, as after a
    # reassignment or in data from before a licence was withdrawn), naming the sender's own study, another
    # hospital's study (a UID it does not own), or one the archive has not received.
    referral_rows: list[dict[str, object]] = []
    audit_rows: list[dict[str, object]] = []
    states = list(ReferralState)
    for i in range(cases):
        agreement, req, read = rng.choice(pop.routes)
        state = rng.choice(states)
        local = readers_at[read] or any_reader

        def named(local: list[str] = local) -> str:
            return rng.choice(local if rng.random() < 0.85 else any_reader)

        offered_to = named() if state in _OFFERED and rng.random() < 0.95 else None
        reader_id = named() if state in _READ and rng.random() < 0.9 else None
        patient_ref, pid = rng.choice(patients_at[req])
        kind = rng.random()
        if kind < 0.6:
            own = [st for st in studies_at[req] if st.patient_id == pid] or studies_at[req]
            uid = rng.choice(own).study_instance_uid
        elif kind < 0.8:
            uid = rng.choice(studies_at[rng.choice([h for h in every_hospital if h != req])]).study_instance_uid
        else:
            uid = _uid(rng)
        rid = f"ref-pop{i:04d}-{s}"
        scope = ReferralScope(req, read, offered_to, reader_id)
        pop.cases.append(Case(rid, scope, state, patient_ref, ReferralStudy(scope, uid, pid)))
        referral_rows.append(
            {"id": rid, "requesting_hospital_id": req, "reading_hospital_id": read, "agreement_id": agreement,
             "patient_ref": patient_ref, "study_instance_uid": uid, "modality": "CT", "body_part": "CHEST",
             "clinical_question": f"question {i}", "priority": "routine", "difficult": False,
             "submitted_by": rng.choice(doctors_at[req] or any_reader), "submitted_at": now, "state": state.value,
             "offered_to": offered_to, "reader_id": reader_id, "sla_target_minutes": 1440, "last_seq": 1,
             "updated_at": now}
        )  # fmt: skip
        audit_rows.append(
            {"referral_id": rid, "seq": 1, "action": "submit", "from_state": None, "to_state": state.value,
             "actor_id": pop.actor_id, "actor_role": "system", "actor_hospital_id": None, "at": now, "details": {}}
        )  # fmt: skip

    async with engine.begin() as conn:
        await conn.execute(hospitals.insert(), hospital_rows)
        await conn.execute(
            agreements.insert(),
            [{"id": a, "requesting_hospital_id": req, "reading_hospital_id": read, "service_mode": "full_hosting",
              "terms": {}, "created_at": now} for a, req, read in pop.agreements],
        )  # fmt: skip
        await conn.execute(users.insert(), user_rows)
        if licences:
            await conn.execute(reader_licences.insert(), licences)
        if subspecialties:
            await conn.execute(reader_subspecialties.insert(), subspecialties)
        await conn.execute(patients.insert(), patient_rows)
        await conn.execute(regional_patients.insert(), regional_rows)
        await conn.execute(patient_index.insert(), index_rows)
        if consent_rows:
            await conn.execute(film_consents.insert(), consent_rows)
        await conn.execute(dicom_studies.insert(), study_rows)
        await conn.execute(referrals.insert(), referral_rows)
        await conn.execute(audit_events.insert(), audit_rows)
    return pop
