"""Tiny randomly initialised transformers models and their processors, saved to a folder.

Each builder writes a folder that `from_pretrained` loads exactly like a downloaded checkpoint, so tests
exercise the real loading code without network or weights. Outputs of these models are random: tests
check plumbing (shapes, dtypes, label/box/mask bookkeeping), never quality.
"""

from __future__ import annotations

from pathlib import Path

import torch

WORDS = ["chair", "table", "lamp", "sofa", "bed", "door", "window", "a", "photo", "of"]


def clip_tokenizer(max_length: int = 16):
    """A CLIP BPE tokenizer whose vocabulary is the 256 byte symbols (plain and word-final) plus whole WORDS."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    symbols = sorted(ByteLevel.alphabet())
    # As in CLIP's vocabulary, "!" (the padding OWL uses) is id 0 and the special tokens come last:
    # OWLv2 treats a query whose first id is 0 as padding.
    tokens = ["!", *symbols, *(s + "</w>" for s in symbols)]
    merges = []
    for word in WORDS:  # merge each word left to right so that it becomes one token
        token = word[0]
        for i, ch in enumerate(word[1:], 1):
            nxt = ch + ("</w>" if i == len(word) - 1 else "")
            merges.append((token, nxt))
            token += nxt
            tokens.append(token)
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(tokens))}
    return CLIPTokenizer(vocab=vocab, merges=list(dict.fromkeys(merges)), pad_token="!", model_max_length=max_length)


def bert_tokenizer():
    """A BERT WordPiece tokenizer over WORDS, '.', and the letters (so that other words still split)."""
    from transformers import BertTokenizer

    letters = "abcdefghijklmnopqrstuvwxyz"
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", *WORDS, *letters, *("##" + c for c in letters)]
    return BertTokenizer(vocab={tok: i for i, tok in enumerate(dict.fromkeys(tokens))})


def save_owlv2(folder: Path, seed: int = 0) -> Path:
    """Tiny OWLv2 (64 px input, 16 px patches -> 16 boxes) with its processor.

    A small initializer keeps the random class logits and box regressions out of sigmoid saturation.
    """
    from transformers import Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessorPil, Owlv2Processor

    torch.manual_seed(seed)
    tokenizer = clip_tokenizer()
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=16,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    vision = dict(
        hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2, image_size=64, patch_size=16
    )
    config = Owlv2Config(text_config=text, vision_config=vision, projection_dim=32, initializer_factor=0.02)
    model = Owlv2ForObjectDetection(config).eval()
    processor = Owlv2Processor(Owlv2ImageProcessorPil(size={"height": 64, "width": 64}), tokenizer)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def save_grounding_dino(folder: Path, seed: int = 0) -> Path:
    """Tiny Grounding DINO (Swin backbone with 2 stages, 1-layer BERT, 8 queries) with its processor."""
    from transformers import (
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessorPil,
        GroundingDinoProcessor,
    )

    torch.manual_seed(seed)
    tokenizer = bert_tokenizer()
    backbone = dict(
        model_type="swin",
        image_size=64,
        patch_size=4,
        embed_dim=8,
        depths=[1, 1],
        num_heads=[1, 1],
        window_size=4,
        out_features=["stage1", "stage2"],
    )
    text = dict(
        model_type="bert",
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    config = GroundingDinoConfig(
        backbone_config=backbone,
        text_config=text,
        num_queries=8,
        encoder_layers=1,
        decoder_layers=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        d_model=32,
        num_feature_levels=2,
        encoder_n_points=2,
        decoder_n_points=2,
        max_text_len=32,
    )
    model = GroundingDinoForObjectDetection(config).eval()
    processor = GroundingDinoProcessor(
        GroundingDinoImageProcessorPil(size={"shortest_edge": 64, "longest_edge": 96}), tokenizer
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def save_sam(folder: Path, seed: int = 0) -> Path:
    """Tiny SAM (64 px input, 16 px patches, 4×4 embedding, 16×16 low-res masks) with its processor."""
    from transformers import SamConfig, SamImageProcessorPil, SamModel, SamProcessor

    torch.manual_seed(seed)
    vision = dict(
        hidden_size=32,
        output_channels=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=64,
        patch_size=16,
        mlp_dim=64,
        global_attn_indexes=[1],
        window_size=2,
        num_pos_feats=8,
    )
    prompt = dict(hidden_size=16, image_size=64, patch_size=16, mask_input_channels=4)
    decoder = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, mlp_dim=32, iou_head_hidden_dim=16)
    model = SamModel(SamConfig(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder)).eval()
    processor = SamProcessor(
        SamImageProcessorPil(
            size={"longest_edge": 64}, pad_size={"height": 64, "width": 64}, mask_size={"longest_edge": 16}
        )
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def save_dinov2(folder: Path, patch_size: int = 14, seed: int = 0) -> Path:
    """Tiny DINOv2 (hidden 32, 2 layers) with a BitImageProcessor (the processor DINOv2 checkpoints ship)."""
    from transformers import BitImageProcessorPil, Dinov2Config, Dinov2Model

    torch.manual_seed(seed)
    config = Dinov2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        patch_size=patch_size,
        image_size=patch_size * 4,
    )
    model = Dinov2Model(config).eval()
    processor = BitImageProcessorPil(
        size={"shortest_edge": patch_size * 4},
        crop_size={"height": patch_size * 4, "width": patch_size * 4},
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
