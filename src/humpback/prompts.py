"""The paper's prompts and tags, verbatim (typos are the paper's; see shared/paper/SPEC.md section 3)."""

# Self-curation prompt (Table 1 in v1 / Table 19 in v3). The last line holds the two slots.
CURATION_PROMPT = """Below is an instruction from an user and a candidate answer. Evaluate whether or not the answer is a good example of how AI Assistant should respond to the user's instruction. Please assign a score using the following 5-point scale:
1: It means the answer is incomplete, vague, off-topic, controversial, or not exactly what the user asked for. For example, some content seems missing, numbered list does not start from the beginning, the opening sentence repeats user's question. Or the response is from another person's perspective with their personal experience (e.g. taken from blog posts), or looks like an answer from a forum. Or it contains promotional text, navigation text, or other irrelevant information.
2: It means the answer addresses most of the asks from the user. It does not directly address the user's question. For example, it only provides a high-level methodology instead of the exact solution to user's question.
3: It means the answer is helpful but not written by an AI Assistant. It addresses all the basic asks from the user. It is complete and self contained with the drawback that the response is not written from an AI assistant's perspective, but from other people's perspective. The content looks like an excerpt from a blog post, web page, or web search results. For example, it contains personal experience or opinion, mentions comments section, or share on social media, etc.
4: It means the answer is written from an AI assistant's perspective with a clear focus of addressing the instruction. It provide a complete, clear, and comprehensive response to user's question or instruction without missing or irrelevant information. It is well organized, self-contained, and written in a helpful tone. It has minor room for improvement, e.g. more concise and focused.
5: It means it is a perfect answer from an AI Assistant. It has a clear focus on being a helpful AI Assistant, where the response looks like intentionally written to address the user's question or instruction without any irrelevant sentences. The answer provides high quality content, demonstrating expert knowledge in the area, is very well written, logical, easy-to-follow, engaging and insightful.

Please first provide a brief reasoning you used to derive the rating score, and then write "Score: <rating>" in the last line.

<generated instruction> <output>"""

# How the two slots of the last line are filled is unreported: this layout is the default
# (config `curate.slot_layout`), recorded with every run.
CURATION_SLOT_LAYOUTS = {
    "newline": "{instruction}\n\n{output}",
    "space": "{instruction} {output}",
    "labelled": "Instruction: {instruction}\n\nAnswer: {output}",
}

# Backward (instruction-generation) prompt, attributed to Humpback by the follow-up paper
# (arXiv 2408.04614). It is a complete [INST] turn already.
BACKWARD_PROMPT = """[INST] Below is a candidate answer to a question or instruction from an user. Write the most likely question to which the text below would be a great answer.

<response>

Answer in the style of an AI Assistant. [/INST]"""

# System-prompt tags appended to the instruction when seed and augmented data are mixed.
TAG_SEED = "Answer in the style of an AI Assistant."  # S_a
TAG_WEB = "Answer with knowledge from web search."  # S_w

INFERENCE_TAGS = {"none": (), "S_a": (TAG_SEED,), "S_a+S_w": (TAG_SEED, TAG_WEB)}

# Chat template of the published Humpback outputs.
INST_TEMPLATE = "[INST] {instruction} [/INST]"


def curation_prompt(instruction: str, output: str, layout: str = "newline") -> str:
    """The verbatim 5-point prompt with `<generated instruction> <output>` filled per `layout`."""
    if layout not in CURATION_SLOT_LAYOUTS:
        raise ValueError(f"unknown curation slot layout {layout!r}; choose from {sorted(CURATION_SLOT_LAYOUTS)}")
    filled = CURATION_SLOT_LAYOUTS[layout].format(instruction=instruction, output=output)
    return CURATION_PROMPT.replace("<generated instruction> <output>", filled)


def backward_prompt(response: str) -> str:
    """The verbatim backward prompt with the segment in place of `<response>`."""
    return BACKWARD_PROMPT.replace("<response>", response)


def backward_message(response: str) -> str:
    """The backward prompt's user message (inside [INST] ... [/INST]), for models with a chat template."""
    return backward_prompt(response)[len("[INST] ") : -len(" [/INST]")]


def add_tags(instruction: str, tags: tuple[str, ...] | list[str]) -> str:
    """Append system-prompt sentences to an instruction, separated by a space (S_a then S_w)."""
    return " ".join([instruction, *tags]) if tags else instruction


def inst_prompt(instruction: str) -> str:
    return INST_TEMPLATE.format(instruction=instruction)
