"""The built-in price tables: model ratio and completion ratio by model name (one-api's defaults).

Pure data, below the services that price requests (services/pricing.py), the options an admin edits
(services/options.py: ModelRatio and CompletionRatio hold the overrides) and the relay's /v1/models.
"""

from __future__ import annotations

from .prices_cn import COMPLETION_RATIOS_CN, MODEL_RATIOS_CN

# One-api's defaults (a selection of the maintained table; admins add the rest as options).
MODEL_RATIOS: dict[str, float] = {
    # OpenAI
    "gpt-4": 15, "gpt-4-0314": 15, "gpt-4-0613": 15, "gpt-4-32k": 30, "gpt-4-32k-0314": 30, "gpt-4-32k-0613": 30,
    "gpt-4-1106-preview": 5, "gpt-4-0125-preview": 5, "gpt-4-turbo-preview": 5, "gpt-4-turbo": 5,
    "gpt-4-turbo-2024-04-09": 5, "gpt-4-vision-preview": 5,
    "gpt-4o": 2.5, "chatgpt-4o-latest": 2.5, "gpt-4o-2024-05-13": 2.5, "gpt-4o-2024-08-06": 1.25,
    "gpt-4o-2024-11-20": 1.25, "gpt-4o-mini": 0.075, "gpt-4o-mini-2024-07-18": 0.075,
    "gpt-3.5-turbo": 0.25, "gpt-3.5-turbo-0301": 0.75, "gpt-3.5-turbo-0613": 0.75, "gpt-3.5-turbo-16k": 1.5,
    "gpt-3.5-turbo-16k-0613": 1.5, "gpt-3.5-turbo-instruct": 0.75, "gpt-3.5-turbo-1106": 0.5,
    "gpt-3.5-turbo-0125": 0.25,
    "o1": 7.5, "o1-2024-12-17": 7.5, "o1-preview": 7.5, "o1-preview-2024-09-12": 7.5, "o1-mini": 1.5,
    "o1-mini-2024-09-12": 1.5, "o3-mini": 1.5, "o3-mini-2025-01-31": 1.5,
    "davinci-002": 1, "babbage-002": 0.2, "text-ada-001": 0.2, "text-babbage-001": 0.25, "text-curie-001": 1,
    "text-davinci-002": 10, "text-davinci-003": 10, "text-davinci-edit-001": 10, "code-davinci-edit-001": 10,
    "whisper-1": 15, "tts-1": 7.5, "tts-1-1106": 7.5, "tts-1-hd": 15, "tts-1-hd-1106": 15,
    "text-embedding-ada-002": 0.05, "text-embedding-3-small": 0.01, "text-embedding-3-large": 0.065,
    "text-search-ada-doc-001": 10, "text-moderation-stable": 0.1, "text-moderation-latest": 0.1,
    "dall-e-2": 10, "dall-e-3": 20,
    # Anthropic
    "claude-instant-1.2": 0.4, "claude-2.0": 4, "claude-2.1": 4, "claude-3-haiku-20240307": 0.125,
    "claude-3-5-haiku-20241022": 0.5, "claude-3-sonnet-20240229": 1.5, "claude-3-5-sonnet-20240620": 1.5,
    "claude-3-5-sonnet-20241022": 1.5, "claude-3-5-sonnet-latest": 1.5, "claude-3-opus-20240229": 7.5,
    # Google
    "gemini-pro": 0.125, "gemini-1.0-pro": 0.125, "gemini-1.5-pro": 0.625, "gemini-1.5-pro-001": 0.625,
    "gemini-1.5-flash": 0.0375, "gemini-1.5-flash-001": 0.0375, "gemini-2.0-flash-exp": 0.075,
    "gemini-2.0-flash": 0.075, "gemini-2.0-flash-thinking-exp": 0.075,
    # DeepSeek, Zhipu, Ali, Baidu, Tencent, Moonshot, MiniMax, Baichuan, Spark
    "deepseek-chat": 0.07, "deepseek-reasoner": 0.275,
    "glm-4-plus": 3.55, "glm-4": 7.1, "glm-4-flash": 0, "glm-4-air": 0.071, "glm-4v": 0.71,
    "qwen-turbo": 0.0213, "qwen-plus": 0.0568, "qwen-max": 0.1704, "qwen-long": 0.0355,
    "ERNIE-4.0-8K": 8.52, "ERNIE-3.5-8K": 0.852, "ERNIE-Speed-8K": 0.284, "ERNIE-Lite-8K": 0.213,
    "hunyuan-turbo": 1.065, "hunyuan-pro": 2.13, "hunyuan-standard": 0.0568,
    "moonshot-v1-8k": 0.852, "moonshot-v1-32k": 1.704, "moonshot-v1-128k": 4.26,
    "abab6.5-chat": 2.13, "abab6.5s-chat": 0.071, "Baichuan2-Turbo": 0.568, "Baichuan2-Turbo-192k": 1.136,
    "SparkDesk": 1.2858, "SparkDesk-v1.1": 1.2858, "SparkDesk-v2.1": 1.2858, "SparkDesk-v3.1": 1.2858,
    "SparkDesk-v3.5": 1.2858, "SparkDesk-v4.0": 1.2858,
    # Mistral, Cohere, xAI, Groq (one-api's 1000x-too-small Groq values are corrected), DeepL, images
    "open-mistral-7b": 0.125, "open-mixtral-8x7b": 0.35, "mistral-small-latest": 1, "mistral-medium-latest": 1.35,
    "mistral-large-latest": 4, "mistral-embed": 0.05,
    "command": 0.5, "command-light": 0.5, "command-r": 0.25, "command-r-plus": 1.5,
    "grok-beta": 2.5,
    "llama3-8b-8192": 0.025, "llama3-70b-8192": 0.295, "mixtral-8x7b-32768": 0.12, "gemma-7b-it": 0.035,
    "deepl-zh": 12.5, "deepl-en": 12.5, "deepl-ja": 12.5,
    "ali-stable-diffusion-xl": 8, "ali-stable-diffusion-v1.5": 8, "wanx-v1": 8,
    "flux-schnell": 1.5, "flux-1.1-pro": 20,
    "openrouter/auto": -500000,
}

# Completion ratios keyed like model ratios; the prefix rules below apply when no entry matches.
COMPLETION_RATIOS: dict[str, float] = {"llama3-8b-8192(33)": 2, "llama3-70b-8192(33)": 1.3207547}


# -- AWS Bedrock (type 33) and Vertex AI (type 42) -------------------------------------------------------
# The providers' public on-demand list prices (us-east-1 / us-central1) as ratios; a row above wins. Bedrock:
# the Claude models newer than the Anthropic rows above, Bedrock model ids (also reached through a channel's
# model mapping); Vertex: Google's publisher model names (Claude spelled with "@"). Names: prices_cloud.py.
# model -> (ratio, completion ratio)
_BEDROCK_PRICES: dict[str, tuple[float, float]] = {
    # Claude models newer than the Anthropic rows above, and the Bedrock ids (for channels mapping to them)
    "claude-3-7-sonnet-20250219": (1.5, 5), "claude-sonnet-4-20250514": (1.5, 5), "claude-opus-4-20250514": (7.5, 5),
    "claude-opus-4-1-20250805": (7.5, 5), "claude-sonnet-4-5-20250929": (1.5, 5),
    "claude-haiku-4-5-20251001": (0.5, 5),
    "anthropic.claude-instant-v1": (0.4, 3), "anthropic.claude-v2": (4, 3), "anthropic.claude-v2:1": (4, 3),
    "anthropic.claude-3-haiku-20240307-v1:0": (0.125, 5), "anthropic.claude-3-sonnet-20240229-v1:0": (1.5, 5),
    "anthropic.claude-3-opus-20240229-v1:0": (7.5, 5), "anthropic.claude-3-5-sonnet-20240620-v1:0": (1.5, 5),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": (1.5, 5), "anthropic.claude-3-5-haiku-20241022-v1:0": (0.4, 5),
    "anthropic.claude-3-7-sonnet-20250219-v1:0": (1.5, 5), "anthropic.claude-sonnet-4-20250514-v1:0": (1.5, 5),
    "anthropic.claude-opus-4-20250514-v1:0": (7.5, 5), "anthropic.claude-opus-4-1-20250805-v1:0": (7.5, 5),
    "anthropic.claude-sonnet-4-5-20250929-v1:0": (1.5, 5), "anthropic.claude-haiku-4-5-20251001-v1:0": (0.5, 5),
    # Converse families
    "amazon.nova-micro-v1:0": (0.0175, 4), "amazon.nova-lite-v1:0": (0.03, 4), "amazon.nova-pro-v1:0": (0.4, 4),
    "amazon.nova-premier-v1:0": (1.25, 5),
    "meta.llama3-8b-instruct-v1:0": (0.15, 2), "meta.llama3-70b-instruct-v1:0": (1.325, 1.3207547),
    "meta.llama3-1-8b-instruct-v1:0": (0.11, 1), "meta.llama3-1-70b-instruct-v1:0": (0.36, 1),
    "meta.llama3-1-405b-instruct-v1:0": (1.2, 1), "meta.llama3-3-70b-instruct-v1:0": (0.36, 1),
    "mistral.mistral-7b-instruct-v0:2": (0.075, 4 / 3), "mistral.mixtral-8x7b-instruct-v0:1": (0.225, 0.7 / 0.45),
    "mistral.mistral-small-2402-v1:0": (0.5, 3), "mistral.mistral-large-2402-v1:0": (2, 3),
    "mistral.mistral-large-2407-v1:0": (1, 3),
    "cohere.command-r-v1:0": (0.25, 3), "cohere.command-r-plus-v1:0": (1.5, 5),
    "deepseek.r1-v1:0": (0.675, 4),
}

_VERTEX_PRICES: dict[str, tuple[float, float]] = {
    "claude-3-haiku@20240307": (0.125, 5), "claude-3-sonnet@20240229": (1.5, 5), "claude-3-opus@20240229": (7.5, 5),
    "claude-3-5-sonnet@20240620": (1.5, 5), "claude-3-5-sonnet-v2@20241022": (1.5, 5),
    "claude-3-5-haiku@20241022": (0.5, 5), "claude-3-7-sonnet@20250219": (1.5, 5),
    "claude-sonnet-4@20250514": (1.5, 5), "claude-opus-4@20250514": (7.5, 5), "claude-opus-4-1@20250805": (7.5, 5),
    "claude-sonnet-4-5@20250929": (1.5, 5), "claude-haiku-4-5@20251001": (0.5, 5),
    "gemini-pro-vision": (0.125, 3), "gemini-exp-1206": (0.625, 4), "gemini-1.5-pro-002": (0.625, 4),
    "gemini-1.5-flash-002": (0.0375, 4), "gemini-2.0-flash-001": (0.075, 4),
    "gemini-2.0-flash-lite-preview-02-05": (0.0375, 4), "gemini-2.0-flash-lite-001": (0.0375, 4),
    "gemini-2.0-flash-thinking-exp-01-21": (0.075, 4),
    "gemini-2.5-pro": (0.625, 8), "gemini-2.5-flash": (0.15, 2.5 / 0.3), "gemini-2.5-flash-lite": (0.05, 4),
}

MODEL_RATIOS = {m: p[0] for m, p in (_BEDROCK_PRICES | _VERTEX_PRICES).items()} | MODEL_RATIOS
COMPLETION_RATIOS = {m: p[1] for m, p in (_BEDROCK_PRICES | _VERTEX_PRICES).items()} | COMPLETION_RATIOS

# The native CN adaptors' models (Baidu, Spark, Hunyuan, DeepL, Replicate...): an existing row wins.
MODEL_RATIOS = MODEL_RATIOS_CN | MODEL_RATIOS
COMPLETION_RATIOS = COMPLETION_RATIOS_CN | COMPLETION_RATIOS

# -- current models (the providers' list prices, 2025-2026) ----------------------------------------------
# One-api's table stops at early 2025: a model missing from it costs ratio 30 ($60 per million input tokens).
# These rows are the providers' published standard prices (text, at most 200K input tokens), and they win over
# one-api's older values for the same names (gpt-4o is $2.50 per million since 2024, one-api says $5). An install
# migrated from one-api keeps its own stored ModelRatio; only names it lacks take these (spec: merge of new
# built-in ratios). model -> (ratio = USD per million input tokens / 2, completion ratio = output / input price)
_CURRENT_PRICES: dict[str, tuple[float, float]] = {
    # OpenAI
    "gpt-4o": (1.25, 4),
    "gpt-4.1": (1, 4), "gpt-4.1-2025-04-14": (1, 4), "gpt-4.1-mini": (0.2, 4), "gpt-4.1-mini-2025-04-14": (0.2, 4),
    "gpt-4.1-nano": (0.05, 4), "gpt-4.1-nano-2025-04-14": (0.05, 4),
    "gpt-4.5-preview": (37.5, 2), "gpt-4.5-preview-2025-02-27": (37.5, 2),
    "gpt-5": (0.625, 8), "gpt-5-2025-08-07": (0.625, 8), "gpt-5-chat-latest": (0.625, 8), "gpt-5-codex": (0.625, 8),
    "gpt-5-mini": (0.125, 8), "gpt-5-mini-2025-08-07": (0.125, 8), "gpt-5-nano": (0.025, 8),
    "gpt-5-nano-2025-08-07": (0.025, 8), "gpt-5-pro": (7.5, 8),
    "gpt-5.1": (0.625, 8), "gpt-5.1-chat-latest": (0.625, 8), "gpt-5.1-codex": (0.625, 8),
    "gpt-5.1-codex-mini": (0.125, 8),
    "gpt-5.2": (0.875, 8), "gpt-5.2-chat-latest": (0.875, 8), "gpt-5.2-codex": (0.875, 8), "gpt-5.2-pro": (10.5, 8),
    "gpt-5.3-codex": (0.875, 8),
    "gpt-5.4": (1.25, 6), "gpt-5.4-mini": (0.375, 6), "gpt-5.4-nano": (0.1, 6.25), "gpt-5.4-pro": (15, 6),
    "gpt-5.5": (2.5, 6), "gpt-5.5-pro": (15, 6),
    "gpt-5.6-sol": (2.5, 6), "gpt-5.6-terra": (1.25, 6), "gpt-5.6-luna": (0.5, 6),
    "o1-mini": (0.55, 4), "o1-mini-2024-09-12": (0.55, 4), "o1-pro": (75, 4), "o1-pro-2025-03-19": (75, 4),
    "o3-mini": (0.55, 4), "o3-mini-2025-01-31": (0.55, 4), "o3": (1, 4), "o3-2025-04-16": (1, 4),
    "o3-pro": (10, 4), "o3-pro-2025-06-10": (10, 4), "o3-deep-research": (5, 4), "o4-mini": (0.55, 4),
    "o4-mini-2025-04-16": (0.55, 4), "o4-mini-deep-research": (1, 4), "codex-mini-latest": (0.75, 4),
    # Anthropic (aliases and dated names)
    "claude-3-5-haiku-20241022": (0.4, 5), "claude-3-5-haiku-latest": (0.4, 5), "claude-3-7-sonnet-latest": (1.5, 5),
    "claude-sonnet-4-0": (1.5, 5), "claude-opus-4-0": (7.5, 5), "claude-opus-4-1": (7.5, 5),
    "claude-sonnet-4-5": (1.5, 5), "claude-haiku-4-5": (0.5, 5), "claude-opus-4-5": (2.5, 5),
    "claude-opus-4-5-20251101": (2.5, 5), "claude-sonnet-4-6": (1.5, 5), "claude-opus-4-6": (2.5, 5),
    "claude-opus-4-7": (2.5, 5), "claude-opus-4-8": (2.5, 5),
    "claude-sonnet-5": (1.5, 5), "claude-opus-5": (2.5, 5), "claude-fable-5": (5, 5),
    # Google
    "gemini-3-pro-preview": (1, 6), "gemini-3-flash-preview": (0.25, 6),
    # DeepSeek (V3.2 behind both names: $0.28 in, $0.42 out)
    "deepseek-chat": (0.14, 1.5), "deepseek-reasoner": (0.14, 1.5),
}
MODEL_RATIOS = MODEL_RATIOS | {m: p[0] for m, p in _CURRENT_PRICES.items()}
COMPLETION_RATIOS = COMPLETION_RATIOS | {m: p[1] for m, p in _CURRENT_PRICES.items()}

# -- images (one-api's relay/billing/ratio/image.go) ------------------------------------------------------
# Sizes a model accepts, each with its price multiplier; a model not listed here accepts any size (x1).
IMAGE_SIZE_RATIOS: dict[str, dict[str, float]] = {
    "dall-e-2": {"256x256": 1, "512x512": 1.125, "1024x1024": 1.25},
    "dall-e-3": {"1024x1024": 1, "1024x1792": 2, "1792x1024": 2},
    "ali-stable-diffusion-xl": {"512x1024": 1, "1024x768": 1, "1024x1024": 1, "576x1024": 1, "1024x576": 1},
    "ali-stable-diffusion-v1.5": {"512x1024": 1, "1024x768": 1, "1024x1024": 1, "576x1024": 1, "1024x576": 1},
    "wanx-v1": {"1024x1024": 1, "720x1280": 1, "1280x720": 1},
    "step-1x-medium": {"256x256": 1, "512x512": 1, "768x768": 1, "1024x1024": 1, "1280x800": 1, "800x1280": 1},
}
IMAGE_SIZES_ANY = frozenset({"cogview-3"})  # listed elsewhere but take any size
# (min, max) images per request.
IMAGE_N_LIMITS: dict[str, tuple[int, int]] = {
    "dall-e-2": (1, 10), "dall-e-3": (1, 1), "ali-stable-diffusion-xl": (1, 4), "ali-stable-diffusion-v1.5": (1, 4),
    "wanx-v1": (1, 4), "cogview-3": (1, 1), "step-1x-medium": (1, 1),
}
# Prompt length limits (bytes of UTF-8, as one-api's len()).
IMAGE_PROMPT_LIMITS: dict[str, int] = {
    "dall-e-2": 1000, "dall-e-3": 4000, "ali-stable-diffusion-xl": 4000, "ali-stable-diffusion-v1.5": 4000,
    "wanx-v1": 4000, "cogview-3": 833, "step-1x-medium": 4000,
}
IMAGE_HD_MULTIPLIER = {"dall-e-3": (2.0, 1.5)}  # quality "hd": x2 at 1024x1024, x1.5 at the other sizes

# -- prompt caching -----------------------------------------------------------------------------------------
# Price of a cached input token (a cache read) as a fraction of an input token, from the providers' published
# prices; a model matching no entry and no prefix rule (services/pricing.py) pays its full input price.
# Admins override these through the CacheRatio option (JSON, keyed like ModelRatio, "<model>(<type>)" too).
CACHE_RATIOS: dict[str, float] = {
    "gpt-4o-2024-05-13": 1, "chatgpt-4o-latest": 1,  # no caching discount on these
}
# Price of a token written to the cache (Anthropic's cache_creation_input_tokens) as a fraction of an input
# token: Anthropic's 5-minute cache writes cost 1.25x. Overridden through the CacheWriteRatio option.
CACHE_WRITE_RATIOS: dict[str, float] = {}
