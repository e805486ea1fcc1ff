"""Built-in prices and default model lists of the native adaptors served by relay/adaptors/{baidu, spark,
tencent, coze, deepl, replicate, aiproxy} (one-api's values, relay/billing/ratio/model.go).

Pure data. ``MODEL_RATIOS_CN`` / ``COMPLETION_RATIOS_CN`` merge into catalog/prices.py's tables (ratio 1 =
$0.002 / 1K tokens; ``RMB`` is one-api's integer 500 // 7); ``DEFAULT_MODELS`` is each channel type's
default model list (the dashboard's "fill default models").

Corrections of one-api's table: Replicate's chat models are priced per million tokens by Replicate, and
one-api wrote the dollar price per 1K (1000x too high); here they are per 1K. Replicate's image models are
billed per image: the adaptor reports 1000 prompt tokens per image, so ratio x 1000 quota per image, as
one-api's image pricing.
"""

from __future__ import annotations

USD = 500
RMB = USD // 7  # one-api's integer constant (71)

BAIDU = ["ERNIE-4.0-8K", "ERNIE-3.5-8K", "ERNIE-3.5-8K-0205", "ERNIE-3.5-8K-1222", "ERNIE-Bot-8K", "ERNIE-3.5-4K-0205",
         "ERNIE-Speed-8K", "ERNIE-Speed-128K", "ERNIE-Lite-8K-0922", "ERNIE-Lite-8K-0308", "ERNIE-Tiny-8K",
         "BLOOMZ-7B", "Embedding-V1", "bge-large-zh", "bge-large-en", "tao-8k"]
SPARK = ["Spark-Lite", "Spark-Pro", "Spark-Pro-128K", "Spark-Max", "Spark-Max-32K", "Spark-4.0-Ultra"]
TENCENT = ["hunyuan-lite", "hunyuan-standard", "hunyuan-standard-256K", "hunyuan-pro", "hunyuan-turbo",
           "hunyuan-large", "hunyuan-vision", "hunyuan-embedding"]
DEEPL = ["deepl-zh", "deepl-en", "deepl-ja"]
REPLICATE_IMAGES = {
    "black-forest-labs/flux-1.1-pro": 0.04, "black-forest-labs/flux-1.1-pro-ultra": 0.06,
    "black-forest-labs/flux-canny-dev": 0.025, "black-forest-labs/flux-canny-pro": 0.05,
    "black-forest-labs/flux-depth-dev": 0.025, "black-forest-labs/flux-depth-pro": 0.05,
    "black-forest-labs/flux-dev": 0.025, "black-forest-labs/flux-dev-lora": 0.032,
    "black-forest-labs/flux-fill-dev": 0.04, "black-forest-labs/flux-fill-pro": 0.05, "black-forest-labs/flux-pro": 0.055,
    "black-forest-labs/flux-redux-dev": 0.025, "black-forest-labs/flux-redux-schnell": 0.003,
    "black-forest-labs/flux-schnell": 0.003, "black-forest-labs/flux-schnell-lora": 0.02,
    "ideogram-ai/ideogram-v2": 0.08, "ideogram-ai/ideogram-v2-turbo": 0.05, "recraft-ai/recraft-v3": 0.04,
    "recraft-ai/recraft-v3-svg": 0.08, "stability-ai/stable-diffusion-3": 0.035,
    "stability-ai/stable-diffusion-3.5-large": 0.065, "stability-ai/stable-diffusion-3.5-large-turbo": 0.04,
    "stability-ai/stable-diffusion-3.5-medium": 0.035,
}  # dollars per image
REPLICATE_CHAT = {
    "ibm-granite/granite-20b-code-instruct-8k": 0.100, "ibm-granite/granite-3.0-2b-instruct": 0.030,
    "ibm-granite/granite-3.0-8b-instruct": 0.050, "ibm-granite/granite-8b-code-instruct-128k": 0.050,
    "meta/llama-2-13b": 0.100, "meta/llama-2-13b-chat": 0.100, "meta/llama-2-70b": 0.650,
    "meta/llama-2-70b-chat": 0.650, "meta/llama-2-7b": 0.050, "meta/llama-2-7b-chat": 0.050,
    "meta/meta-llama-3.1-405b-instruct": 9.500, "meta/meta-llama-3-70b": 0.650, "meta/meta-llama-3-70b-instruct": 0.650,
    "meta/meta-llama-3-8b": 0.050, "meta/meta-llama-3-8b-instruct": 0.050, "mistralai/mistral-7b-instruct-v0.2": 0.050,
    "mistralai/mistral-7b-v0.1": 0.050, "mistralai/mixtral-8x7b-instruct-v0.1": 0.300,
}  # dollars per million input tokens
REPLICATE = [*REPLICATE_IMAGES, *REPLICATE_CHAT]
AIPROXY_LIBRARY = ["gpt-3.5-turbo", "gpt-4", "gpt-4o", "gpt-4o-mini"]

# channel type -> its default models (Coze bots are named per channel: bot-<id>; PaLM2 is retired)
DEFAULT_MODELS: dict[int, list[str]] = {15: BAIDU, 18: SPARK, 21: AIPROXY_LIBRARY, 23: TENCENT, 38: DEEPL,
                                        46: REPLICATE}

MODEL_RATIOS_CN: dict[str, float] = {
    # Baidu (RMB per 1K tokens x RMB)
    "ERNIE-4.0-8K": 0.120 * RMB, "ERNIE-3.5-8K": 0.012 * RMB, "ERNIE-3.5-8K-0205": 0.024 * RMB,
    "ERNIE-3.5-8K-1222": 0.012 * RMB, "ERNIE-Bot-8K": 0.024 * RMB, "ERNIE-3.5-4K-0205": 0.012 * RMB,
    "ERNIE-Speed-8K": 0.004 * RMB, "ERNIE-Speed-128K": 0.004 * RMB, "ERNIE-Lite-8K-0922": 0.008 * RMB,
    "ERNIE-Lite-8K-0308": 0.003 * RMB, "ERNIE-Tiny-8K": 0.001 * RMB, "BLOOMZ-7B": 0.004 * RMB,
    "Embedding-V1": 0.002 * RMB, "bge-large-zh": 0.002 * RMB, "bge-large-en": 0.002 * RMB, "tao-8k": 0.002 * RMB,
    # Xunfei Spark (one-api: ￥0.018 / 1K tokens for every version)
    **{name: 1.2858 for name in (*SPARK, "SparkDesk", "SparkDesk-v1.1", "SparkDesk-v2.1", "SparkDesk-v3.1",
                                 "SparkDesk-v3.1-128K", "SparkDesk-v3.5", "SparkDesk-v3.5-32K", "SparkDesk-v4.0")},
    # Tencent Hunyuan
    "hunyuan-turbo": 0.015 * RMB, "hunyuan-large": 0.004 * RMB, "hunyuan-large-longcontext": 0.006 * RMB,
    "hunyuan-standard": 0.0008 * RMB, "hunyuan-standard-256K": 0.0005 * RMB, "hunyuan-translation-lite": 0.005 * RMB,
    "hunyuan-role": 0.004 * RMB, "hunyuan-functioncall": 0.004 * RMB, "hunyuan-code": 0.004 * RMB,
    "hunyuan-turbo-vision": 0.08 * RMB, "hunyuan-vision": 0.018 * RMB, "hunyuan-embedding": 0.0007 * RMB,
    "hunyuan-lite": 0, "hunyuan-pro": 0.03 * RMB,
    # DeepL: $25 per million characters (the prompt "tokens" are characters)
    **{name: 25.0 / 1000 * USD for name in DEEPL},
    # Replicate: images per image (x1000 tokens reported), chat per million tokens
    **{name: dollars * USD for name, dollars in REPLICATE_IMAGES.items()},
    **{name: dollars / 1000 * USD for name, dollars in REPLICATE_CHAT.items()},
}

COMPLETION_RATIOS_CN: dict[str, float] = {}
