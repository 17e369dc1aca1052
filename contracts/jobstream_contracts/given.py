"""Models whose JSON holds exactly the members they were given.

Some answers say "unknown" with a null (an estimate's ``bytes``) and leave out what does not
apply (an estimate without ``end_clipped_from``). A plain model cannot tell the two apart once
dumped: ``exclude_none`` drops the first, a full dump invents the second. These models keep
the members that were set, nulls included, whatever the dump's options, so their schema is in
the API document and the JSON is what it was before it was typed.
"""

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer


class AsGiven(BaseModel):
    model_config = ConfigDict(frozen=True)

    @model_serializer(mode="wrap")
    def _members_given(self, dump: SerializerFunctionWrapHandler):
        members = dump(self)  # a null dropped by exclude_none is put back below
        extra = self.model_extra or {}
        given = self.model_fields_set | set(extra)
        order = [*type(self).model_fields, *extra]
        return {name: members.get(name) for name in order if name in given}
