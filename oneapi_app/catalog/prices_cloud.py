"""Model names and default model lists of the two cloud platforms: AWS Bedrock (type 33) and Vertex AI
(type 42). Pure data. Their prices are in prices.py (its "AWS Bedrock and Vertex AI" block: a catalogue module
imports no other).

Bedrock names: the Anthropic model names (mapped to Bedrock ids by adaptors/bedrock.py, priced like
Anthropic's own) and Bedrock model ids as such (``amazon.nova-pro-v1:0``...; a cross-region inference profile
``us.<id>`` or an ARN works too, e.g. through a channel's model mapping; it is priced by that name, so give
it a ModelRatio entry). Vertex names: Google's publisher model names (Claude with ``@`` versions, as Vertex spells them).
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
