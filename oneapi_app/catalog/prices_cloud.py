"""Built-in prices and default model lists of the two cloud platforms: AWS Bedrock (type 33) and Vertex AI
(type 42). Pure data; prices.py merges the ratios into its tables.

Ratio 1 = $0.002 / 1K tokens (= $2 / 1M input tokens); the completion ratio is output price / input price.
Prices are the providers' public on-demand list prices (us-east-1 / us-central1).

Bedrock names: the Anthropic model names (mapped to Bedrock ids by adaptors/bedrock.py, priced like
Anthropic's own, which prices.py has) and Bedrock model ids as such (``amazon.nova-pro-v1:0``...), also
reachable through a channel's model mapping (e.g. to a cross-region inference profile ``us.<id>``: priced as
its id). Vertex names: Google's publisher model names (Claude with ``@`` versions, as Vertex spells them).
"""

from __future__ import annotations

# -- AWS Bedrock ----------------------------------------------------------------------------------------
# Anthropic name -> Bedrock model id (one-api's table, plus the Claude models released since)
BEDROCK_CLAUDE_IDS: dict[str, str] = {
    "claude-instant-1.2": "anthropic.claude-instant-v1",
    "claude-2.0": "anthropic.claude-v2",
    "claude-2.1": "anthropic.claude-v2:1",
    "claude-3-haiku-20240307": "anthropic.claude-3-haiku-20240307-v1:0",
    "claude-3-sonnet-20240229": "anthropic.claude-3-sonnet-20240229-v1:0",
    "claude-3-opus-20240229": "anthropic.claude-3-opus-20240229-v1:0",
    "claude-3-5-sonnet-20240620": "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "claude-3-5-sonnet-20241022": "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "claude-3-5-sonnet-latest": "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "claude-3-5-haiku-20241022": "anthropic.claude-3-5-haiku-20241022-v1:0",
    "claude-3-7-sonnet-20250219": "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "claude-sonnet-4-20250514": "anthropic.claude-sonnet-4-20250514-v1:0",
    "claude-opus-4-20250514": "anthropic.claude-opus-4-20250514-v1:0",
    "claude-opus-4-1-20250805": "anthropic.claude-opus-4-1-20250805-v1:0",
    "claude-sonnet-4-5-20250929": "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "claude-haiku-4-5-20251001": "anthropic.claude-haiku-4-5-20251001-v1:0",
}
# other names one-api offers on Bedrock -> Bedrock model id (served through the Converse API)
BEDROCK_OTHER_IDS: dict[str, str] = {
    "llama3-8b-8192": "meta.llama3-8b-instruct-v1:0",
    "llama3-70b-8192": "meta.llama3-70b-instruct-v1:0",
}

# model -> (ratio, completion ratio)
_BEDROCK_PRICES: dict[str, tuple[float, float]] = {
    # Claude models newer than prices.py's Anthropic rows (also their Bedrock ids, for mapped channels)
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

# -- Vertex AI ------------------------------------------------------------------------------------------
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

CLOUD_MODEL_RATIOS: dict[str, float] = {m: p[0] for m, p in (_BEDROCK_PRICES | _VERTEX_PRICES).items()}
CLOUD_COMPLETION_RATIOS: dict[str, float] = {m: p[1] for m, p in (_BEDROCK_PRICES | _VERTEX_PRICES).items()}

# The dashboard's "fill default models" of each type: what the type's adaptor serves out of the box.
CLOUD_DEFAULT_MODELS: dict[int, list[str]] = {
    33: [*BEDROCK_CLAUDE_IDS, *BEDROCK_OTHER_IDS, "amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0",
         "amazon.nova-pro-v1:0", "meta.llama3-1-8b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0",
         "mistral.mistral-large-2402-v1:0", "mistral.mistral-small-2402-v1:0", "cohere.command-r-v1:0",
         "cohere.command-r-plus-v1:0"],
    42: ["claude-3-haiku@20240307", "claude-3-sonnet@20240229", "claude-3-opus@20240229",
         "claude-3-5-sonnet@20240620", "claude-3-5-sonnet-v2@20241022", "claude-3-5-haiku@20241022",
         "claude-3-7-sonnet@20250219", "claude-sonnet-4@20250514", "claude-opus-4@20250514",
         "gemini-pro", "gemini-pro-vision", "gemini-exp-1206", "gemini-1.5-pro-001", "gemini-1.5-pro-002",
         "gemini-1.5-flash-001", "gemini-1.5-flash-002", "gemini-2.0-flash-exp", "gemini-2.0-flash-001",
         "gemini-2.0-flash-lite-preview-02-05", "gemini-2.0-flash-thinking-exp-01-21", "gemini-2.5-pro",
         "gemini-2.5-flash"],
}
