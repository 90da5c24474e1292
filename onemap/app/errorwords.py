"""The server's error codes in words, in both languages: what the page says when a request fails.

The server answers every refusal as ``{"code", "detail"}``: ``code`` is stable and
machine-readable, ``detail`` is an English sentence for logs and API users. A Chinese screen
must not show that English sentence after a Chinese prefix, so the page words the error by its
code (:data:`WORDS`) and adds the server's detail only on an English screen, where it cannot mix
languages. One table serves the Python side (:func:`words`) and the browser's scripts
(:func:`element`: ``window.onemap.errorText`` in ``assets/lang.js`` reads it).
"""

from __future__ import annotations

import json

from dash import html

#: code → (zh, en). ``{status}`` is the HTTP status.
WORDS: dict[str, tuple[str, str]] = {
    "NotFound": ("找不到该数据或对象，或您无权查看", "Not found, or not visible to this account"),
    "InvalidParameterValue": ("提交的内容有误，请检查后重试", "A value sent is not valid"),
    "InvalidParameter": ("提交的内容有误，请检查后重试", "A value sent is not valid"),
    "InvalidData": ("提交的数据不符合要求", "The data sent is not valid"),
    "MissingParameterValue": ("缺少必填内容", "Something required is missing"),
    "UnsupportedMediaType": ("服务器不接受这种文件格式",
                             "The server does not take this kind of file"),
    "PayloadTooLarge": ("文件或内容超过服务器允许的大小", "Larger than this server accepts"),
    "ImageTooLarge": ("图像尺寸超过服务器上限", "The image is larger than this server accepts"),
    "TooManyPhotos": ("该对象的照片已达上限", "This feature has as many photos as it may"),
    "Unauthenticated": ("请先登录", "Please log in first"),
    "LoginFailed": ("用户名或密码不正确", "Wrong user name or password"),
    "Forbidden": ("当前账号无权执行此操作（角色或辖区不符）",
                  "This account may not do this (role or region)"),
    "CsrfFailed": ("页面已过期，请刷新后重试", "The page is out of date: reload it and try again"),
    "CrossOriginWrite": ("拒绝了来自其他网站的请求", "A request from another site was refused"),
    "MethodNotAllowed": ("不支持此操作", "This operation is not supported here"),
    "Conflict": ("数据已被他人修改，请刷新后重试", "Changed meanwhile: reload and try again"),
    "OutOfRegion": ("位置超出本区域范围", "The place is outside this region"),
    "NoData": ("所选范围内没有数据", "No data in what was asked"),
    "NoSuchJob": ("任务已不存在", "The job no longer exists"),
    "NoSuchProcess": ("没有这个分析功能", "No such process"),
    "ProviderUnavailable": ("数据暂时无法读取，请稍后重试",
                            "The data cannot be read now; try again later"),
    "InternalError": ("服务器内部错误，请稍后重试或联系管理员",
                      "The server failed; try again later or tell the administrator"),
    "Unreachable": ("无法连接到服务器", "The server cannot be reached"),
}
#: For a code not in the table: by the status.
REFUSED = ("服务器拒绝了请求（HTTP {status}）", "The server refused the request (HTTP {status})")
FAILED = ("服务器出错（HTTP {status}）", "The server failed (HTTP {status})")


def words(code: str, status: int, lang: str, detail: str = "") -> str:
    """The error in ``lang``: by its code (else its status); the detail on English only."""
    pair = WORDS.get(code) or (FAILED if status >= 500 or status == 0 else REFUSED)
    text = (pair[1] if lang == "en" else pair[0]).replace("{status}", str(status))
    return f"{text} ({detail})" if lang == "en" and detail else text


def element() -> html.Div:
    """The table for the browser's scripts (read by ``assets/lang.js``)."""
    return html.Div(id="om-error-words", hidden=True, **{"data-words": json.dumps(
        {"codes": WORDS, "refused": REFUSED, "failed": FAILED}, ensure_ascii=False)})
