# SPDX-License-Identifier: MIT
# Drives the llmforge CLI the way outside checks do: bad input must give one readable error line on
# stderr and a non-zero exit code; good input must succeed.
set(_cli $<TARGET_FILE:llmforge_cli>)
set(_expect ${CMAKE_CURRENT_LIST_DIR}/expect_cli.cmake)
set(_stories ${PROJECT_SOURCE_DIR}/models/stories260K.gguf)
set(_tmp ${CMAKE_CURRENT_BINARY_DIR}/cli_tmp)
file(MAKE_DIRECTORY ${_tmp})

# llmforge_cli_test(name EXIT ok|fail [REGEX re] ARGS ...)
function(llmforge_cli_test name)
  cmake_parse_arguments(T "" "EXIT;REGEX" "ARGS" ${ARGN})
  string(REPLACE ";" "@@" _args "${T_ARGS}")  # expect_cli.cmake splits at @@
  add_test(NAME cli.${name}
           COMMAND ${CMAKE_COMMAND} -DCLI=${_cli} "-DARGS=${_args}" -DEXIT=${T_EXIT} "-DREGEX=${T_REGEX}" -P ${_expect})
endfunction()

llmforge_cli_test(run_default_model EXIT ok REGEX "Once upon a time" ARGS run -p "Once upon a time" -n 16 --temp 0)
llmforge_cli_test(missing_model_file EXIT fail REGEX "cannot open file" ARGS run -m ${_tmp}/does-not-exist.gguf -p hi)
llmforge_cli_test(not_a_gguf_file EXIT fail REGEX "not a GGUF file" ARGS run -m ${CMAKE_CURRENT_LIST_DIR}/cli_tests.cmake -p hi)
llmforge_cli_test(negative_temperature EXIT fail REGEX "temperature must be" ARGS run -p hi --temp -1)
llmforge_cli_test(top_p_out_of_range EXIT fail REGEX "top-p must be in" ARGS run -p hi --top-p 1.5)
llmforge_cli_test(prompt_longer_than_context EXIT fail REGEX "context holds"
                  ARGS run -p "Once upon a time there was a little girl named Lily and she liked to play" --ctx 8)
llmforge_cli_test(unknown_option EXIT fail REGEX "unrecognised option|unrecognized option" ARGS run -p hi --bogus)
# --stop (repeatable): the output ends right before the first stop string; the greedy story is
# "Once upon a time, there was a little girl named Lily." and "le gi" spans "little" and " girl".
llmforge_cli_test(run_stop_string EXIT ok REGEX "Once upon a time, there was a litt[^a-z]*prompt: .*stop: stop_string"
                  ARGS run -p "Once upon a time" -n 32 --temp 0 --stop "le gi")
llmforge_cli_test(run_stop_repeatable_earliest_wins EXIT ok REGEX "^Once upon a time[^a-z]*prompt: .*stop: stop_string"
                  ARGS run -p "Once upon a time" -n 32 --temp 0 --stop "named" --stop ", there")
llmforge_cli_test(run_all_sampler_options EXIT ok REGEX "Once upon a time"
                  ARGS run -p "Once upon a time" -n 8 --top-k 20 --top-p 0.9 --min-p 0.1 --typical 0.95 --temp 0.7
                       --dynatemp-range 0.2 --dynatemp-exp 1.5 --repeat-penalty 1.1 --repeat-last-n 32 --presence-penalty 0.1
                       --frequency-penalty 0.1 --dry-multiplier 0.8 --dry-base 1.75 --dry-allowed-length 2
                       --dry-penalty-last-n 64 --dry-sequence-breaker : --dry-sequence-breaker "\\n" --xtc-probability 0.5
                       --xtc-threshold 0.1 --logit-bias 13+1 --logit-bias 2-inf --seed 7
                       --samplers "penalties,dry,top_k,typ_p,top_p,min_p,xtc,temperature")
llmforge_cli_test(run_mirostat_v2 EXIT ok REGEX "Once upon a time"
                  ARGS run -p "Once upon a time" -n 8 --mirostat 2 --mirostat-lr 0.1 --mirostat-ent 5 --seed 1)
llmforge_cli_test(bad_dry_base EXIT fail REGEX "dry base must be a finite number >= 1, got 0.5" ARGS run -p hi --dry-base 0.5)
llmforge_cli_test(bad_sampler_stage EXIT fail REGEX "unknown sampler stage 'bogus'" ARGS run -p hi --samplers "top_k,bogus")
llmforge_cli_test(bad_mirostat_version EXIT fail REGEX "mirostat must be 0 .off. or 2" ARGS run -p hi --mirostat 1)
llmforge_cli_test(bad_xtc_probability EXIT fail REGEX "xtc probability must be in .0, 1." ARGS run -p hi --xtc-probability 2)
llmforge_cli_test(bad_typical EXIT fail REGEX "typical-p must be in" ARGS run -p hi --typical 0)
llmforge_cli_test(bad_logit_bias EXIT fail REGEX "--logit-bias: 'abc' is not TOKEN" ARGS run -p hi --logit-bias abc)
llmforge_cli_test(tokenize_gguf EXIT ok REGEX "^1 403 407 261 378" ARGS tokenize -m ${_stories} -p "Once upon a time")
llmforge_cli_test(info_json EXIT ok REGEX "\"weight_bytes\"" ARGS info -m ${_stories} --json)
llmforge_cli_test(bench_json_roofline EXIT ok REGEX "\"tg_roofline_pct\": [0-9]"
                  ARGS bench -m ${_stories} -p 8 -n 4 -r 2 --json)
llmforge_cli_test(bench_json_roofline_1stream EXIT ok REGEX "\"tg_roofline_1stream_pct\": [0-9]"
                  ARGS bench -m ${_stories} -p 0 -n 4 -r 1 --json)
llmforge_cli_test(bench_zero_reps EXIT fail REGEX "--reps must be at least 1" ARGS bench -m ${_stories} -r 0)
llmforge_cli_test(logits_writes_file EXIT ok REGEX "wrote 1 x 512 logits" ARGS logits -m ${_stories} --tokens "1 403 407" -o ${_tmp}/l.f32)
if(EXISTS ${LLMFORGE_SHARED_DIR}/testdata/gguf/stories260K.gguf)
  # Truncated copy of a real file, and a copy whose architecture name is changed to one nobody knows.
  file(READ ${LLMFORGE_SHARED_DIR}/testdata/gguf/stories260K.gguf _hex HEX LIMIT 50000)
  file(WRITE ${_tmp}/truncated.hex "${_hex}")
  add_test(NAME cli.truncated_gguf
           COMMAND ${CMAKE_COMMAND} -DCLI=${_cli} -DEXIT=fail "-DREGEX=truncated|past the end"
                   -DMAKE_TRUNCATED=${_tmp}/truncated.hex -DOUT=${_tmp}/truncated.gguf
                   "-DARGS=run@@-m@@${_tmp}/truncated.gguf@@-p@@hi" -P ${_expect})
  add_test(NAME cli.unknown_architecture
           COMMAND ${CMAKE_COMMAND} -DCLI=${_cli} -DEXIT=fail "-DREGEX=unknown architecture 'llamx'; supported: .*llama"
                   -DMAKE_UNKNOWN_ARCH=${LLMFORGE_SHARED_DIR}/testdata/gguf/stories260K.gguf -DOUT=${_tmp}/unknown_arch.gguf
                   "-DARGS=run@@-m@@${_tmp}/unknown_arch.gguf@@-p@@hi" -P ${_expect})
endif()

# The custom-architecture example: a user-defined LLaMA variant (own activation policy and tensor
# table, registered at run time) must reproduce the stock model's greedy story on stories260K.
if(TARGET custom_model)
  add_test(NAME example.custom_model COMMAND custom_model ${_stories} "Once upon a time")
  set_tests_properties(example.custom_model PROPERTIES
                       PASS_REGULAR_EXPRESSION "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.")
endif()

# Load-time quantization reports its progress on stderr (one line per 10% when not a terminal).
if(EXISTS ${LLMFORGE_SHARED_DIR}/reference/models/tiny512-f32.gguf)
  llmforge_cli_test(run_quantize_shows_progress EXIT ok REGEX " 30/30 quantizing"
                    ARGS run -m ${LLMFORGE_SHARED_DIR}/reference/models/tiny512-f32.gguf --quantize q8_0 -p hi -n 4 --temp 0)
endif()

# `llmforge template`: byte-identical to Python's jinja2 rendering (HF's apply_chat_template environment).
set(_chat_data ${PROJECT_SOURCE_DIR}/test/chat/data)
set(_oracle ${PROJECT_SOURCE_DIR}/test/chat/hf_render.py)
# llmforge_template_compare(name TEMPLATE MESSAGES [OPTIONS ...]): the same options go to both programs.
function(llmforge_template_compare name tpl messages)
  set(_opts ${ARGN})
  string(REPLACE ";" "@@" _o "${_opts}")
  add_test(NAME cli.template_${name}
           COMMAND ${CMAKE_COMMAND} -DCLI=${_cli} -DORACLE=${_oracle}
                   "-DARGS=--template@@${_chat_data}/templates/${tpl}.jinja@@--messages@@${_chat_data}/conversations/${messages}.json@@${_o}"
                   "-DPYARGS=${_chat_data}/templates/${tpl}.jinja@@${_chat_data}/conversations/${messages}.json@@${_o}"
                   -P ${CMAKE_CURRENT_LIST_DIR}/compare_template.cmake)
  set_tests_properties(cli.template_${name} PROPERTIES SKIP_REGULAR_EXPRESSION "SKIP: ")
endfunction()
llmforge_template_compare(qwen25_tools Qwen-Qwen2.5-7B-Instruct tool_call --tools ${_chat_data}/conversations/tools.json --add-generation-prompt)
llmforge_template_compare(llama31_tools meta-llama-Llama-3.1-8B-Instruct tool_call --tools ${_chat_data}/conversations/tools.json
                          --bos-token <|begin_of_text|> --eos-token <|eot_id|>)
llmforge_template_compare(qwen3_thinking Qwen-Qwen3-0.6B thinking --add-generation-prompt)
llmforge_template_compare(gemma3_unicode google-gemma-3-4b-it unicode --bos-token <bos> --add-generation-prompt)
llmforge_template_compare(llama2_raises meta-llama-Llama-2-7b-chat-hf bad_alternation --bos-token <s> --eos-token </s>)
llmforge_cli_test(template_raise_exception EXIT fail REGEX "^llmforge template: error: System role not supported$"
                  ARGS template --template ${_chat_data}/templates/google-gemma-7b-it.jinja --messages ${_chat_data}/conversations/system_user.json)
llmforge_cli_test(template_builtin_fallback_is_announced EXIT ok
                  REGEX "has no chat template .*using the built-in 'llama2' template.*|\\[INST\\] <<SYS>>"
                  ARGS template -m ${_stories} --messages ${_chat_data}/conversations/system_user.json)
llmforge_cli_test(template_needs_one_source EXIT fail REGEX "give exactly one of -m MODEL or --template"
                  ARGS template --messages ${_chat_data}/conversations/system_user.json)
file(WRITE ${_tmp}/bad.jinja "line one\n{% for m in messages %}{{ m.content ")
llmforge_cli_test(template_syntax_error EXIT fail REGEX "bad.jinja:2:24: unterminated expression"
                  ARGS template --template ${_tmp}/bad.jinja --messages ${_chat_data}/conversations/system_user.json)
file(WRITE ${_tmp}/not_a_list.json "{\"role\": \"user\"}")
llmforge_cli_test(template_messages_must_be_a_list EXIT fail REGEX "must hold a JSON list of messages"
                  ARGS template --template ${_chat_data}/templates/Qwen-Qwen2.5-7B-Instruct.jinja --messages ${_tmp}/not_a_list.json)
if(EXISTS ${LLMFORGE_SHARED_DIR}/testdata/llama.cpp-vocab/ggml-vocab-phi-3.gguf)
  llmforge_cli_test(template_from_gguf EXIT ok REGEX "^<s><\\|user\\|>\nTell me a joke.<\\|end\\|>\n<\\|assistant\\|>\n"
                    ARGS template -m ${LLMFORGE_SHARED_DIR}/testdata/llama.cpp-vocab/ggml-vocab-phi-3.gguf
                         --messages ${_chat_data}/conversations/no_system.json --add-generation-prompt)
endif()

# `llmforge chat`: turns from a pipe and from a pseudo-terminal keep the KV cache; /save and /load.
add_test(NAME cli.chat COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/chat_test.sh ${_cli} ${_tmp}/chat)
set_tests_properties(cli.chat PROPERTIES TIMEOUT 180)
# Speculative decoding: --draft and --lookup print the same greedy text as a plain run.
llmforge_cli_test(run_draft_same_text EXIT ok REGEX "^Once upon a time, there was a little girl named Lily.*acceptance rate"
                  ARGS run -p "Once upon a time" -n 24 --temp 0 --draft ${_stories})
llmforge_cli_test(run_lookup_same_text EXIT ok REGEX "^Once upon a time, there was a little girl named Lily.*prompt lookup"
                  ARGS run -p "Once upon a time" -n 24 --temp 0 --lookup)
llmforge_cli_test(run_draft_bad_n EXIT fail REGEX "--draft-n must be between 1 and 64" ARGS run -p hi --lookup --draft-n 0)
llmforge_cli_test(run_beam_search EXIT ok REGEX "^Once upon a time.*beam 1: score .*beam 2: score"
                  ARGS run -p "Once upon a time" -n 12 --beam-width 3 --n-best 2)
llmforge_cli_test(run_beam_bad_n_best EXIT fail REGEX "n_best must be between 1 and the beam width"
                  ARGS run -p "Once upon a time" --beam-width 2 --n-best 3)
# Model files beyond GGUF (issue 16): Hugging Face folders, llama2.c checkpoints, .lmf, convert.
set(_td ${LLMFORGE_SHARED_DIR}/testdata)
if(EXISTS ${_td}/hf/tiny-gpt2/model.safetensors)
  # reference.json: greedy ids 16046 x 8 (" stairs") after the prompt.
  llmforge_cli_test(run_hf_folder_gpt2 EXIT ok REGEX "Hello world, this is a test( stairs)( stairs)( stairs)( stairs)( stairs)( stairs)( stairs)( stairs)"
                    ARGS run -m ${_td}/hf/tiny-gpt2 -p "Hello world, this is a test" -n 8 --temp 0)
  llmforge_cli_test(convert_hf_folder_to_gguf EXIT ok REGEX "wrote .*tiny-gpt2.gguf .GGUF from safetensors"
                    ARGS convert ${_td}/hf/tiny-gpt2 ${_tmp}/tiny-gpt2.gguf)
  set_tests_properties(cli.convert_hf_folder_to_gguf PROPERTIES FIXTURES_SETUP hf_gguf)
  llmforge_cli_test(run_converted_hf_gguf EXIT ok REGEX "Hello world, this is a test( stairs)( stairs)( stairs)( stairs)( stairs)( stairs)( stairs)( stairs)"
                    ARGS run -m ${_tmp}/tiny-gpt2.gguf -p "Hello world, this is a test" -n 8 --temp 0)
  set_tests_properties(cli.run_converted_hf_gguf PROPERTIES FIXTURES_REQUIRED hf_gguf)
  llmforge_cli_test(info_hf_folder_memory EXIT ok REGEX "safetensors.*KV cache: +[0-9.]+ B per token"
                    ARGS info -m ${_td}/hf/tiny-gpt2)
  add_test(NAME cli.run_refuses_model_that_does_not_fit
           COMMAND ${CMAKE_COMMAND} -E env LLMFORGE_MEMORY_LIMIT=100000
                   ${CMAKE_COMMAND} -DCLI=${_cli} -DEXIT=fail "-DREGEX=needs about .* .weights .*KV cache.*scratch.*. but only 97.66 KiB is available"
                   "-DARGS=run@@-m@@${_td}/hf/tiny-gpt2@@-p@@hi" -P ${_expect})
endif()
if(EXISTS ${_td}/hf/tiny-random-llama/model.safetensors AND EXISTS ${_td}/hf-tokenizers/llama2/tokenizer.json)
  llmforge_cli_test(run_hf_folder_llama_quantized EXIT ok REGEX "stop: max_tokens"
                    ARGS run -m ${_td}/hf/tiny-random-llama --tokenizer ${_td}/hf-tokenizers/llama2 --quantize f16 -p Hello -n 4 --temp 0)
endif()
if(EXISTS ${_td}/llama2c/stories260K.bin)
  llmforge_cli_test(tokenize_llama2c_checkpoint EXIT ok REGEX "^1 403 407 261 378"
                    ARGS tokenize -m ${_td}/llama2c/stories260K.bin --tokenizer ${_td}/llama2c/tok512.bin -p "Once upon a time")
  llmforge_cli_test(run_llama2c_checkpoint EXIT ok REGEX "Once upon a time, there was a little girl named Lily. She loved to play"
                    ARGS run -m ${_td}/llama2c/stories260K.bin --tokenizer ${_td}/llama2c/tok512.bin -p "Once upon a time" -n 16 --temp 0)
endif()
# A corrupt SafeTensors file in an HF folder: one readable error line naming the file and the problem.
file(MAKE_DIRECTORY ${_tmp}/bad_hf)
file(WRITE ${_tmp}/bad_hf/config.json "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_attention_heads\": 2, \"num_hidden_layers\": 1, \"intermediate_size\": 16, \"max_position_embeddings\": 16, \"vocab_size\": 4}")
set(_st_header "{\"model.embed_tokens.weight\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[0,128]}}")
string(LENGTH "${_st_header}" _st_len)
string(HEX "${_st_header}" _st_hex)
math(EXPR _st_lo "${_st_len} % 256" OUTPUT_FORMAT HEXADECIMAL)
string(REPLACE "0x" "" _st_lo "${_st_lo}")
string(LENGTH "${_st_lo}" _n)
if(_n EQUAL 1)
  set(_st_lo "0${_st_lo}")
endif()
file(WRITE ${_tmp}/bad_hf.hex "${_st_lo}00000000000000${_st_hex}00000000")
add_test(NAME cli.corrupt_safetensors
         COMMAND ${CMAKE_COMMAND} -DCLI=${_cli} -DEXIT=fail "-DREGEX=bad_hf/model.safetensors: invalid SafeTensors file: tensor 'model.embed_tokens.weight' data .* extends past the end"
                 -DMAKE_TRUNCATED=${_tmp}/bad_hf.hex -DOUT=${_tmp}/bad_hf/model.safetensors
                 "-DARGS=run@@-m@@${_tmp}/bad_hf@@-p@@hi" -P ${_expect})
# GGUF -> .lmf, --verify passes; a flipped data byte is reported with the tensor's name.
llmforge_cli_test(convert_gguf_to_lmf EXIT ok REGEX "wrote .*stories.lmf" ARGS convert ${_stories} ${_tmp}/stories.lmf)
set_tests_properties(cli.convert_gguf_to_lmf PROPERTIES FIXTURES_SETUP lmf)
llmforge_cli_test(info_verify_lmf EXIT ok REGEX "all CRC32 checksums match" ARGS info -m ${_tmp}/stories.lmf --verify)
llmforge_cli_test(tokenize_lmf EXIT ok REGEX "^1 403 407 261 378" ARGS tokenize -m ${_tmp}/stories.lmf -p "Once upon a time")
llmforge_cli_test(run_lmf EXIT ok REGEX "Once upon a time, there was a little girl named Lily"
                  ARGS run -m ${_tmp}/stories.lmf -p "Once upon a time" -n 12 --temp 0)
add_test(NAME cli.info_verify_names_flipped_tensor
         COMMAND ${CMAKE_COMMAND} -DCLI=${_cli} -DEXIT=fail "-DREGEX=tensor 'blk.1.ffn_down.weight' is corrupt .CRC32 mismatch."
                 -DMAKE_FLIPPED=${_tmp}/stories.lmf -DFLIP_AT=592688 -DOUT=${_tmp}/flipped.lmf
                 "-DARGS=info@@-m@@${_tmp}/flipped.lmf@@--verify" -P ${_expect})
set_tests_properties(cli.info_verify_lmf cli.run_lmf cli.tokenize_lmf cli.info_verify_names_flipped_tensor PROPERTIES FIXTURES_REQUIRED lmf)
# `llmforge embed`: one JSON array of model_dim (64) floats; bad pooling names are refused.
llmforge_cli_test(embed_prints_json_array EXIT ok REGEX "^\\[-?[0-9][^,]*(, -?[0-9][^,]*)(, [^,]*)+\\]\n$"
                  ARGS embed -m ${_stories} -p "Once upon a time" --pooling last)
llmforge_cli_test(embed_bad_pooling EXIT fail REGEX "pooling must be mean, last or cls, got 'max'"
                  ARGS embed -m ${_stories} -p hi --pooling max)
