"""common.kept: parses kept by the body parsed."""

from common.kept import KeptByBody


def counting_parse():
    calls = []

    def parse(body: bytes) -> dict:
        calls.append(body)
        return {"body": body.decode()}

    return parse, calls


def test_a_body_sent_again_is_not_parsed_again():
    parse, calls = counting_parse()
    kept = KeptByBody(parse)

    first, again = kept(b'{"a": 1}'), kept(b'{"a": 1}')

    assert first == again == {"body": '{"a": 1}'}
    assert calls == [b'{"a": 1}']


def test_a_large_body_is_parsed_every_time_and_never_kept():
    parse, calls = counting_parse()
    kept = KeptByBody(parse, largest=4)

    kept(b"12345")
    kept(b"12345")

    assert len(calls) == 2


def test_past_its_bound_everything_is_forgotten_and_parsed_again():
    parse, calls = counting_parse()
    kept = KeptByBody(parse, entries=2)

    for body in (b"1", b"2", b"3", b"1"):
        kept(body)

    assert calls == [b"1", b"2", b"3", b"1"]  # "3" found it full: "1" was forgotten


def test_forget_empties_it():
    parse, calls = counting_parse()
    kept = KeptByBody(parse)
    kept(b"1")

    kept.forget()
    kept(b"1")

    assert calls == [b"1", b"1"]
