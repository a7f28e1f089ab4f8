"""LocalStack's sent-messages endpoint: `GET /_aws/ses` (filters `id`, `email`) and
`DELETE /_aws/ses` (`id`: one message; none: all), so test suites written for LocalStack read
the mail sent through sesconsole unchanged.

On when `SES_MESSAGES_ENDPOINT` is true: by default in the embedded mode (no EMAIL_HOST), off
with a relay, i.e. in production, unless the operator turns it on.

Isolation (one account never reads or deletes another's mail), decided here:
1. a request signed with SigV4 (any SigV4 client, e.g. botocore's SigV4Auth or the aws CLI's
   `awscurl`-style helpers) sees the signing key's account;
2. a signed-in console user sees their account;
3. an unsigned request, as LocalStack's own clients send it, is answered only while the
   deployment has exactly one account (the embedded mode's demo account, a CI instance);
   with several it is refused with 403 and told to sign the request.
Messages of every region of the account are listed, as LocalStack lists every region's.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts.models import Account, account_for_user
from sending import inspect
from sending.models import SentMessage

from .auth import authenticate
from .errors import ApiError
from .sigv4 import SigV4Error
from .wire import error_response, json_response, new_request_id


@csrf_exempt
def sent_messages(request: HttpRequest) -> HttpResponse:
    request_id = new_request_id()
    if not settings.SES_MESSAGES_ENDPOINT or request.method not in ("GET", "DELETE"):
        error = ApiError(
            "UnknownOperationException",
            "The sent-messages endpoint is off. Set SES_MESSAGES_ENDPOINT=true to turn it on.",
            404,
        )
        return error_response(error, request_id)
    try:
        account = _account(request)
    except ApiError as exc:
        return error_response(exc, request_id)
    except SigV4Error as exc:
        return error_response(ApiError(exc.code, exc.message, exc.status), request_id)
    queryset = SentMessage.objects.filter(account=account).order_by("accepted_at", "id")
    if request.GET.get("id"):
        queryset = queryset.filter(message_id=request.GET["id"])
    if request.method == "DELETE":
        queryset.delete()
        response = HttpResponse(status=204)
        response["x-amzn-RequestId"] = request_id
        return response
    if request.GET.get("email"):
        queryset = queryset.filter(from_address=request.GET["email"])
    return json_response({"messages": [_shown(message) for message in queryset]}, request_id)


def _account(request: HttpRequest) -> Account:
    if "HTTP_AUTHORIZATION" in request.META:
        return authenticate(request, request.body).account
    user_account = account_for_user(request.user)
    if user_account is not None:
        return user_account
    accounts = list(Account.objects.all()[:2])
    if len(accounts) == 1:
        return accounts[0]
    raise ApiError(
        "AccessDeniedException",
        "This deployment has several accounts: sign the request with an access key (SigV4) to "
        "read your account's sent messages.",
        403,
    )


def _shown(message: SentMessage) -> dict[str, Any]:
    """One message in LocalStack's shape: formatted sends with Subject and Body, raw ones
    with RawData."""
    shown: dict[str, Any] = {
        "Id": message.message_id,
        "Region": message.region_id,
        "Source": message.from_header,
        "Destination": {"ToAddresses": list(message.recipients)},
        "Timestamp": message.accepted_at.isoformat(),
    }
    if message.raw_content:
        shown["RawData"] = bytes(message.mime).decode("utf-8", errors="replace")
        return shown
    parts = inspect.parts(message)
    shown["Subject"] = message.subject
    shown["Body"] = {"text_part": parts.text or None, "html_part": parts.html or None}
    return shown
