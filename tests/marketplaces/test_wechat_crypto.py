"""WeChat shop's push crypto against fixed vectors worked out from the documented rule (MARKETPLACES.md §5) with the
command-line tools, not with the code under test:

- signatures: `printf '%s\\n' <parts> | LC_ALL=C sort | tr -d '\\n' | sha1sum` (ordinal sort, joined, lower hex SHA1);
- Encrypt: the plaintext assembled by hand (16 bytes "RANDOMRANDOM1234", the message's length as 4 big-endian bytes,
  the message, the appid, padded PKCS#7-style to 32 bytes), then
  `openssl enc -aes-256-cbc -K 000102…1f -iv 000102…0f -nopad | base64 -w0`.
  The EncodingAESKey below is Base64 of the bytes 0x00…0x1f without its "=".
"""

from urllib.parse import urlencode

import pytest

from marketplaces.adapters.base import PUSH_QUERY_HEADER, Credentials, PushInvalid, SignatureInvalid
from marketplaces.adapters.wechat import WechatAdapter, aes_key, decrypt, push_secret_json, signature
from marketplaces.simulator.wechat import sim_encrypt

TOKEN = "TestToken"
ENCODING_AES_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
APPID = "wx1234567890abcdef"
TIMESTAMP, NONCE = "1700000000", "abc123"
MESSAGE = (
    '{"ToUserName":"gh_1","CreateTime":1700000000,"MsgType":"event","Event":"channels_ec_aftersale_update",'
    '"finder_shop_aftersale_status_update":{"after_sale_order_id":"3700000000000001","order_id":"ORD1",'
    '"status":"MERCHANT_PROCESSING"}}'
)
ENCRYPTED = (
    "q3WAy0nt57QecqUj/YzFNd9M158xqhnBlR1JV9e+F2TA/W5lvWLlUvYofA5BlgayGGjTjP1ecWcXZYundsODKZxQeAq1VTUUW05H5s7WndbJ0jBF"
    "uLHTXD9ZpItc27OMuyIos/Cju1gOwytwubHbn03UDWv2Dc2EIFbXoZSX8xY8F9ZkOCOZ4qZ/hqRQ/dN17Rwt7451NZWTr8EC2FQwdr0cH/pwzGII"
    "qf3P489TXTAyVf+CdA2SxCz85IfBOVHKy9PxHCHX742MG0+fVjaPzkQotcmpWT2rry0FPcD5aTdXR2+dKy5wUUtIK+Y2mJuG62tg/vQjWTTGeD8p"
    "kDllPAhdoKW/gUB/+bS6Iwqm6eQJJ8iRfXTBkh3jdNdS2W8j"
)
MSG_SIGNATURE = "f329a52bf26c42818bff79b5c1661e3e15dfcfa1"
PLAIN_SIGNATURE = "0a084a6981b577d3d15b39af2fc771f45e79c7bd"  # sorted "1700000000" "TestToken" "abc123"
# 64 bytes whose last byte is 0x00: not a PKCS#7 padding.
BAD_PADDING = "q3WAy0nt57QecqUj/YzFNdii2hmLXzXvKdtfEebF8Y7kab0J64aaChJwkJVDtey1ihJFEkZXYyhcxBM7QTy5fA=="
BAD_PADDING_SIGNATURE = "0949b8a4086b781b8d3f9bb13cebf6fca8860d3e"
# The message "{}" for appid "wxOTHER", correctly signed.
OTHER_APPID = "q3WAy0nt57QecqUj/YzFNZXDxljfqRX5hyo2dgkO/ro="
OTHER_APPID_SIGNATURE = "3e5cf67a6f4a921e8e7b9cd44d39133e504d1b86"
# echostr "echo-7788" encrypted for APPID, and its msg_signature.
ECHO_ENCRYPTED = "q3WAy0nt57QecqUj/YzFNcMUw1z5huObWNjvmKNnrG+ZratUKZDOzJykV6gUdsQebfW0+iBTXzFMzMdSPEmROw=="
ECHO_SIGNATURE = "b109fb5b8e8c37159b47de836a72c9a21d6f4b23"


def credentials(*, encoding_aes_key: str = ENCODING_AES_KEY, appid: str = APPID) -> Credentials:
    return Credentials(
        app_key=appid,
        app_secret="unused",
        access_token="unused",
        shop_id="shop-1",
        push_secret=push_secret_json(token=TOKEN, encoding_aes_key=encoding_aes_key),
    )


def headers(**query) -> dict[str, str]:
    return {PUSH_QUERY_HEADER: urlencode({"timestamp": TIMESTAMP, "nonce": NONCE, **query})}


def body(encrypted: str) -> bytes:
    return ('{"ToUserName":"gh_1","Encrypt":"' + encrypted + '"}').encode()


def test_signatures_are_sha1_of_the_ordinally_sorted_parts():
    assert signature(TOKEN, TIMESTAMP, NONCE) == PLAIN_SIGNATURE
    assert signature(TOKEN, TIMESTAMP, NONCE, ENCRYPTED) == MSG_SIGNATURE


def test_the_vector_decrypts_to_the_message_and_the_appid():
    message, appid = decrypt(aes_key(ENCODING_AES_KEY), ENCRYPTED)

    assert (message.decode(), appid) == (MESSAGE, APPID)


def test_the_simulator_encrypts_the_same_as_openssl():
    assert sim_encrypt(ENCODING_AES_KEY, MESSAGE.encode(), APPID, random16=b"RANDOMRANDOM1234") == ENCRYPTED


def test_a_safe_mode_push_names_the_record_for_the_desk_to_read():
    [message] = WechatAdapter().verify_push(
        credentials(), headers=headers(msg_signature=MSG_SIGNATURE, encrypt_type="aes"), body=body(ENCRYPTED)
    )

    assert (message.platform_id, message.topic, message.record) == (
        "3700000000000001",
        "channels_ec_aftersale_update",
        None,
    )
    assert message.shop_id == "shop-1"


@pytest.mark.parametrize(
    ("query", "encrypted", "code"),
    [
        ({"msg_signature": "0" * 40}, ENCRYPTED, "bad_signature"),
        ({"msg_signature": MSG_SIGNATURE.upper()[:-1] + "0"}, ENCRYPTED, "bad_signature"),
        ({"msg_signature": MSG_SIGNATURE}, ENCRYPTED[:-8] + "AAAAAAAA", "bad_signature"),  # tampered Encrypt
        ({"msg_signature": BAD_PADDING_SIGNATURE}, BAD_PADDING, "bad_padding"),
        ({"msg_signature": OTHER_APPID_SIGNATURE}, OTHER_APPID, "bad_appid"),
        ({"signature": PLAIN_SIGNATURE}, ENCRYPTED, "bad_signature"),  # a plain signature does not do in safe mode
    ],
)
def test_a_push_that_does_not_verify_is_refused(query, encrypted, code):
    with pytest.raises(SignatureInvalid) as refused:
        WechatAdapter().verify_push(credentials(), headers=headers(**query), body=body(encrypted))

    assert refused.value.code == code


def test_a_push_with_a_wrong_timestamp_does_not_verify():
    wrong = {PUSH_QUERY_HEADER: urlencode({"timestamp": "1700000001", "nonce": NONCE, "msg_signature": MSG_SIGNATURE})}

    with pytest.raises(SignatureInvalid):
        WechatAdapter().verify_push(credentials(), headers=wrong, body=body(ENCRYPTED))


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[]", b'{"Encrypt": 5}', b"\xff\xfe", b'{"Encrypt":"\\u0000"}', b'{"a":"\\ud800"}'],
)
def test_garbage_is_refused_as_a_bad_push(raw):
    with pytest.raises(SignatureInvalid):  # PushInvalid is a SignatureInvalid: both answer 4xx
        WechatAdapter().verify_push(credentials(), headers=headers(msg_signature=MSG_SIGNATURE), body=raw)


def test_a_signed_message_that_is_not_the_documented_shape_is_invalid():
    # Plain mode (no EncodingAESKey): the body is the message itself.
    plain = credentials(encoding_aes_key="")
    bad = b'{"Event":"channels_ec_aftersale_update","finder_shop_aftersale_status_update":{"order_id":"1"}}'

    with pytest.raises(PushInvalid):
        WechatAdapter().verify_push(plain, headers=headers(signature=PLAIN_SIGNATURE), body=bad)


def test_plain_mode_checks_the_token_signature_and_ignores_other_events():
    plain = credentials(encoding_aes_key="")
    other_event = b'{"Event":"product_spu_update","MsgType":"event"}'

    assert WechatAdapter().verify_push(plain, headers=headers(signature=PLAIN_SIGNATURE), body=other_event) == []
    [message] = WechatAdapter().verify_push(plain, headers=headers(signature=PLAIN_SIGNATURE), body=MESSAGE.encode())
    assert message.platform_id == "3700000000000001"
    with pytest.raises(SignatureInvalid):
        WechatAdapter().verify_push(plain, headers=headers(signature="1" * 40), body=MESSAGE.encode())


def test_the_url_check_answers_echostr_in_both_modes():
    adapter = WechatAdapter()
    safe = {"timestamp": TIMESTAMP, "nonce": NONCE, "echostr": ECHO_ENCRYPTED, "msg_signature": ECHO_SIGNATURE}
    plain = {"timestamp": TIMESTAMP, "nonce": NONCE, "echostr": "echo-42", "signature": PLAIN_SIGNATURE}

    assert adapter.answer_url_check(credentials(), safe) == "echo-7788"
    assert adapter.answer_url_check(credentials(), plain) == "echo-42"
    with pytest.raises(SignatureInvalid):
        adapter.answer_url_check(credentials(), {**plain, "signature": "f" * 40})
