"""The LLM path: a LangChain chat model (configured by settings) writes one SELECT from the marts' documented
schema; the same guard as every other query then validates and scopes it."""

from __future__ import annotations

import re

import yaml

from aioa.settings import PROJECT_ROOT, Settings
from aioa.warehouse.dbt import project_yaml

METRICS_YAML = PROJECT_ROOT / "dbt_project" / "models" / "metrics" / "semantic_models.yml"
SKIP_COLUMNS = {"usage_key", "last_loaded_at", "loaded_at", "source_file", "source_line", "alternatives_json"}


def schema_context() -> str:
    """The marts with their column descriptions and the metric definitions, from the dbt project."""
    lines = ["Tables (DuckDB, schema `marts`):"]
    for model in project_yaml.models("marts"):
        columns = "; ".join(
            f"{column['name']}: {column['description']}"
            for column in model["columns"]
            if column["name"] not in SKIP_COLUMNS
        )
        lines.append(f"- marts.{model['name']}: {model['description']} Columns: {columns}")
    lines.append("Metrics:")
    for metric in yaml.safe_load(METRICS_YAML.read_text())["metrics"]:
        lines.append(f"- {metric['name']}: {metric['description']}")
    return "\n".join(lines)


SYSTEM_PROMPT = """You translate analytics questions into exactly one DuckDB SELECT statement.
Rules: query only the marts tables listed below; no other schemas, files, table functions or settings; one
statement; prefer the agg_* tables for totals; put dates as literals (YYYY-MM-DD); today is {today}.
Answer with the SQL only, in a ```sql code block.

{schema}"""


def chat_model(settings: Settings):
    """The configured provider's chat model (imported only when a provider is configured)."""
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    if settings.llm_provider in ("openai", "deepseek"):
        from langchain_openai import ChatOpenAI

        base_url = settings.llm_base_url or (
            "https://api.deepseek.com" if settings.llm_provider == "deepseek" else None
        )
        model = settings.llm_model or ("deepseek-chat" if settings.llm_provider == "deepseek" else "gpt-4o-mini")
        return ChatOpenAI(model=model, base_url=base_url, api_key=key, temperature=0)
    if settings.llm_provider == "anthropic":
        from langchain_anthropic import ChatAnthropic

        return ChatAnthropic(model=settings.llm_model or "claude-sonnet-4-5", api_key=key, temperature=0)
    if settings.llm_provider == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(model=settings.llm_model or "qwen2.5-coder", base_url=settings.llm_base_url, temperature=0)
    raise ValueError("no LLM provider configured (AIOA_LLM_PROVIDER)")


def question_to_sql(question: str, model, today) -> str:
    from langchain_core.messages import HumanMessage, SystemMessage

    reply = model.invoke(
        [SystemMessage(SYSTEM_PROMPT.format(today=today, schema=schema_context())), HumanMessage(question)]
    )
    return extract_sql(reply.content if isinstance(reply.content, str) else str(reply.content))


def extract_sql(text: str) -> str:
    fenced = re.search(r"```(?:sql)?\s*(.*?)```", text, flags=re.S | re.I)
    return (fenced.group(1) if fenced else text).strip()
