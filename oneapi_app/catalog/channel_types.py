"""Channel types: id -> name, default base URL and API family. One row per provider type.

An OpenAI-compatible provider is one row here, not a module: the OpenAI adaptor serves every row whose
family is ``openai`` (Zhipu, Ali DashScope, Ollama, Cohere and Cloudflare Workers AI through their
OpenAI-compatible endpoints). Other
families have their own adaptor module (relay/adaptors/<family>.py); rows of the ``native`` family exist so
channels of those types load and show their name, and the pipeline refuses them with a clear error until
their adaptor exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Literal

Family = Literal["openai", "anthropic", "gemini", "bedrock", "vertex", "native", "baidu", "xunfei", "tencent", "coze",
                 "deepl", "replicate", "aiproxy", "palm"]


@dataclass(frozen=True, slots=True)
class ConfigField:
    """One extra setting a channel type asks for in the dashboard's editor. ``key`` is the key of the channel's
    ``config`` JSON (one-api's names: region, ak, sk, user_id, api_version, library_id, plugin,
    vertex_ai_project_id, vertex_ai_adc; plus proxy_price and AWS's session_token). Secret fields are never shown back (an edit that
    leaves them empty keeps the stored value)."""

    key: str
    label: str
    placeholder: str = ""
    secret: bool = False
    multiline: bool = False
    required: bool = False


@dataclass(frozen=True, slots=True)
class ChannelType:
    id: int
    name: str
    base_url: str = ""
    family: Family = "openai"
    # How the upstream URL is built from base + client path (see adaptors.openai.request_url):
    # "path" = base + original /v1/... path; "azure"; "strip_v1" = base + path minus /v1;
    # "fixed:<path-prefix>" = base + prefix + path minus /v1 (e.g. Doubao /api/v3);
    # "cloudflare" = Workers AI's OpenAI endpoints of the account in config user_id (or an AI Gateway base).
    url_rule: str = "path"
    re_serialize: bool = False  # never forward the client's bytes (Baichuan)
    retired: bool = False  # the provider shut the API down: channels load, requests get a clear error
    # The upstream serves OpenAI's Responses API (/v1/responses) itself: a Responses client's request passes
    # through; otherwise it is converted to chat completions. A channel's config ``responses_api`` overrides it.
    responses_api: bool = False
    # What the dashboard's editor shows for this type (filled from the tables below):
    fields: tuple[ConfigField, ...] = ()  # extra settings stored in the channel's config JSON
    key_hint: str = "sk-..."  # the format of the key field
    default_models: tuple[str, ...] = ()  # models offered by "Fill default models" beyond the catalogue's
    retired_note: str = ""  # what to use instead, for a retired type (shown in the editor)
    # The key may be left empty on creation: it is then built from config fields joined by "|" (one-api's
    # editor does the same for AWS: ak|sk|region, and Vertex AI: region|project|service-account JSON).
    key_from_config: tuple[str, ...] = ()
    # Config fields appended to that key when set (AWS temporary credentials: ak|sk|region|session_token).
    key_from_config_optional: tuple[str, ...] = ()


_ROWS = [
    ChannelType(0, "Unknown"),
    ChannelType(1, "OpenAI", "https://api.openai.com", responses_api=True),
    ChannelType(2, "API2D", "https://oa.api2d.net"),
    ChannelType(3, "Azure", "", url_rule="azure"),
    ChannelType(4, "CloseAI", "https://api.closeai-proxy.xyz"),
    ChannelType(5, "OpenAI-SB", "https://api.openai-sb.com"),
    ChannelType(6, "OpenAI Max", "https://api.openaimax.com"),
    ChannelType(7, "OhMyGPT", "https://api.ohmygpt.com"),
    ChannelType(8, "Custom", ""),
    ChannelType(9, "AI.LS", "https://api.caipacity.com"),
    ChannelType(10, "AIProxy", "https://api.aiproxy.io"),
    ChannelType(11, "PaLM2", "https://generativelanguage.googleapis.com", "palm", retired=True),
    ChannelType(12, "API2GPT", "https://api.api2gpt.com"),
    ChannelType(13, "AIGC2D", "https://api.aigc2d.com"),
    ChannelType(14, "Anthropic", "https://api.anthropic.com", "anthropic"),
    ChannelType(15, "Baidu", "https://aip.baidubce.com", "baidu"),
    ChannelType(16, "Zhipu", "https://open.bigmodel.cn", url_rule="fixed:/api/paas/v4"),
    ChannelType(17, "Ali", "https://dashscope.aliyuncs.com", url_rule="fixed:/compatible-mode/v1"),
    ChannelType(18, "Xunfei", "", "xunfei"),
    ChannelType(19, "360", "https://ai.360.cn"),
    ChannelType(20, "OpenRouter", "https://openrouter.ai/api"),
    ChannelType(21, "AIProxy Library", "https://api.aiproxy.io", "aiproxy"),
    ChannelType(22, "FastGPT", "https://fastgpt.run/api/openapi"),
    ChannelType(23, "Tencent", "https://hunyuan.tencentcloudapi.com", "tencent"),
    ChannelType(24, "Gemini", "https://generativelanguage.googleapis.com", "gemini"),
    ChannelType(25, "Moonshot", "https://api.moonshot.cn"),
    ChannelType(26, "Baichuan", "https://api.baichuan-ai.com", re_serialize=True),
    ChannelType(27, "MiniMax", "https://api.minimax.chat", url_rule="minimax"),
    ChannelType(28, "Mistral", "https://api.mistral.ai"),
    ChannelType(29, "Groq", "https://api.groq.com/openai"),
    ChannelType(30, "Ollama", "http://localhost:11434"),
    ChannelType(31, "LingYiWanWu", "https://api.lingyiwanwu.com"),
    ChannelType(32, "StepFun", "https://api.stepfun.com"),
    ChannelType(33, "AwsClaude", "", "bedrock"),
    ChannelType(34, "Coze", "https://api.coze.com", "coze"),
    ChannelType(35, "Cohere", "https://api.cohere.ai", url_rule="fixed:/compatibility/v1"),
    ChannelType(36, "DeepSeek", "https://api.deepseek.com"),
    ChannelType(37, "Cloudflare", "https://api.cloudflare.com", url_rule="cloudflare"),
    ChannelType(38, "DeepL", "https://api-free.deepl.com", "deepl"),
    ChannelType(39, "together.ai", "https://api.together.xyz"),
    ChannelType(40, "Doubao", "https://ark.cn-beijing.volces.com", url_rule="fixed:/api/v3"),
    ChannelType(41, "Novita", "https://api.novita.ai/v3/openai", url_rule="strip_v1"),
    ChannelType(42, "VertexAI", "", "vertex"),
    ChannelType(43, "Proxy", "", "native"),
    ChannelType(44, "SiliconFlow", "https://api.siliconflow.cn"),
    ChannelType(45, "xAI", "https://api.x.ai"),
    ChannelType(46, "Replicate", "https://api.replicate.com/v1/models/", "replicate"),
    ChannelType(47, "BaiduV2", "https://qianfan.baidubce.com", url_rule="fixed:/v2"),
    ChannelType(48, "XunfeiV2", "https://spark-api-open.xf-yun.com"),
    ChannelType(49, "AliBailian", "https://dashscope.aliyuncs.com", url_rule="fixed:/compatible-mode/v1"),
    ChannelType(50, "OpenAICompatible", "", url_rule="strip_v1"),
    ChannelType(51, "GeminiOpenAICompatible", "https://generativelanguage.googleapis.com/v1beta/openai/",
                url_rule="strip_v1"),
]

_REGION = ConfigField("region", "Region", "us-east-1", required=True)
_FIELDS: dict[int, tuple[ConfigField, ...]] = {
    3: (ConfigField("api_version", "API version", "2024-03-01-preview"),),
    17: (ConfigField("plugin", "Plugin", "X-DashScope-Plugin header value (optional)"),),
    18: (ConfigField("api_version", "Spark API version", "v3.5 (empty: from the model name)"),),
    21: (ConfigField("library_id", "Knowledge base ID", "library id", required=True),),
    23: (ConfigField("region", "Region", "ap-guangzhou (optional)"),),
    24: (ConfigField("api_version", "API version", "v1beta"),),
    33: (replace(_REGION, placeholder="us-west-2"), ConfigField("ak", "Access key (AK)", "AKIA...", required=True),
         ConfigField("sk", "Secret key (SK)", "secret access key", secret=True, required=True),
         ConfigField("session_token", "Session token", "temporary credentials only (STS / SSO)", secret=True)),
    34: (ConfigField("user_id", "User ID", "the Coze user id the bot answers"),),
    37: (ConfigField("user_id", "Account ID", "Cloudflare account id", required=True),),
    42: (replace(_REGION, placeholder="us-central1"),
         ConfigField("vertex_ai_project_id", "Project ID", "my-gcp-project", required=True),
         ConfigField("vertex_ai_adc", "Service account JSON", '{"type": "service_account", ...}', secret=True,
                     multiline=True, required=True)),
    43: (ConfigField("proxy_price", "Price per request (quota)", "0"),),
}
_KEY_HINTS: dict[int, str] = {
    3: "The Azure OpenAI key", 11: "API key (PaLM is retired)", 14: "sk-ant-...", 15: "API Key|Secret Key",
    16: "id.secret (Zhipu API key)", 17: "sk-... (DashScope API key)", 18: "APPID|APISecret|APIKey",
    21: "The AIProxy library key", 23: "AppId|SecretId|SecretKey", 24: "AIza... (Google AI Studio key)",
    30: "any text (Ollama needs no key)", 33: "empty: built from AK|SK|region[|session token] below",
    34: "pat_... (Coze personal access token)", 37: "Cloudflare API token", 38: "DeepL auth key",
    42: "empty: built from region|project|service account below", 43: "the upstream's key (sent as is)",
    46: "r8_... (Replicate API token)", 47: "bce-v3/... (Qianfan API key)", 48: "APIKey:APISecret (Spark HTTP)",
    51: "AIza... (Google AI Studio key)",
}
_DEFAULT_MODELS: dict[int, tuple[str, ...]] = {
    30: ("llama3.1", "qwen2.5", "mistral"),
    37: ("@cf/meta/llama-3.1-8b-instruct", "@cf/qwen/qwen1.5-14b-chat-awq", "@cf/mistral/mistral-7b-instruct-v0.1"),
    40: ("doubao-pro-32k", "doubao-lite-32k"), 41: ("meta-llama/llama-3.1-8b-instruct",),
    44: ("deepseek-ai/DeepSeek-V3", "Qwen/Qwen2.5-7B-Instruct"), 31: ("yi-large", "yi-medium"),
    32: ("step-1-8k", "step-1-32k"),
}
_RETIRED: dict[int, str] = {11: "PaLM2 is retired: use Gemini (type 24)."}
_KEY_FROM_CONFIG: dict[int, tuple[str, ...]] = {33: ("ak", "sk", "region"),
                                                 42: ("region", "vertex_ai_project_id", "vertex_ai_adc")}
_KEY_FROM_CONFIG_OPTIONAL: dict[int, tuple[str, ...]] = {33: ("session_token",)}


def _declared(row: ChannelType) -> ChannelType:
    return replace(row, fields=_FIELDS.get(row.id, ()), key_hint=_KEY_HINTS.get(row.id, row.key_hint),
                   default_models=_DEFAULT_MODELS.get(row.id, ()), retired_note=_RETIRED.get(row.id, ""),
                   key_from_config=_KEY_FROM_CONFIG.get(row.id, ()),
                   key_from_config_optional=_KEY_FROM_CONFIG_OPTIONAL.get(row.id, ()))


CHANNEL_TYPES: dict[int, ChannelType] = {row.id: _declared(row) for row in _ROWS}
# Every config key a type declares secret (AWS sk and session_token, Vertex AI's service account): never shown
# back, kept when an edit sends it empty, and masked wherever an upstream's words are kept or shown.
SECRET_CONFIG_KEYS: tuple[str, ...] = tuple(sorted({f.key for t in CHANNEL_TYPES.values() for f in t.fields
                                                    if f.secret}))


def config_secrets(config: object) -> list[str]:
    """The secret values of a channel's config (a dict or its JSON text): for the scrubber."""
    if isinstance(config, str):
        try:
            config = json.loads(config or "{}")
        except ValueError:
            return []
    if not isinstance(config, dict):
        return []
    return [str(config[k]) for k in SECRET_CONFIG_KEYS if isinstance(config.get(k), str) and config[k]]


AZURE, OPENROUTER, BAICHUAN = 3, 20, 26


# Who makes a model, by name prefix: /v1/models' owned_by, and the default model list of a channel type.
MODEL_OWNERS: list[tuple[tuple[str, ...], str]] = [
    (("gpt-", "o1", "o3", "o4", "text-", "dall-e", "whisper", "tts-", "davinci", "babbage", "chatgpt", "code-"),
     "openai"),
    (("claude",), "anthropic"), (("gemini", "palm", "chat-bison"), "google"), (("deepseek",), "deepseek"),
    (("glm", "cogview"), "zhipu"), (("qwen", "ali-", "wanx"), "ali"), (("ERNIE",), "baidu"),
    (("hunyuan",), "tencent"), (("moonshot",), "moonshot"), (("abab",), "minimax"), (("Baichuan",), "baichuan"),
    (("SparkDesk", "Spark"), "xunfei"), (("mistral", "open-mistral", "open-mixtral"), "mistralai"),
    (("command",), "cohere"), (("grok",), "xai"), (("llama", "mixtral", "gemma"), "groq"), (("deepl",), "deepl"),
    (("flux",), "replicate"), (("openrouter",), "openrouter"),
]
# The channel types whose default model list holds an owner's models (the dashboard's "fill default models").
OWNER_TYPES: dict[str, tuple[int, ...]] = {
    "openai": (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 19, 20, 22, 50), "anthropic": (14, 20), "google": (24, 20),
    "deepseek": (36, 20), "zhipu": (16,), "ali": (17, 49), "baidu": (15, 47), "tencent": (23,), "moonshot": (25,),
    "minimax": (27,), "baichuan": (26,), "xunfei": (18, 48), "mistralai": (28,), "cohere": (35,), "xai": (45,),
    "groq": (29,), "deepl": (38,), "replicate": (46,), "openrouter": (20,),
}


def model_owner(model: str) -> str | None:
    return next((owner for prefixes, owner in MODEL_OWNERS if model.startswith(prefixes)), None)


def channel_type(type_id: int) -> ChannelType:
    return CHANNEL_TYPES.get(type_id) or CHANNEL_TYPES[0]


def is_openai_family(type_id: int) -> bool:
    return channel_type(type_id).family == "openai"


def serves_responses(type_id: int, config: dict) -> bool:
    """Whether a channel answers /v1/responses itself: its config's ``responses_api`` (true/false), else its
    type's default (OpenAI's own API does; compatible providers mostly do not)."""
    value = config.get("responses_api") if isinstance(config, dict) else None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return channel_type(type_id).responses_api
