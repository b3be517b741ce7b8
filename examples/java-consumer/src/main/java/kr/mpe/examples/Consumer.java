package kr.mpe.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * An example consumer of mpehub's events in Java, following docs/consumer-guide.md: it validates
 * every payload against the committed JSON Schema of its ce_type, skips an event id it already
 * applied (delivery is at-least-once), applies a state only if its version is above the one it
 * holds for that key, and commits offsets after applying. Prints one JSON line per event.
 *
 * <p>Arguments: --bootstrap HOST:PORT, --schemas DIR, --group ID, --topic-prefix P, --idle-exit SECONDS.
 */
public final class Consumer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, JsonSchema> schemas = new HashMap<>();
  private final Set<String> topics = new TreeSet<>();
  private final Set<String> seen = new HashSet<>(); // a real consumer keeps these in its database
  private final Map<String, Long> versions = new HashMap<>(); // topic + key -> applied version
  private final String prefix;
  private int invalid;

  private Consumer(Path schemaDir, String prefix) throws IOException {
    this.prefix = prefix;
    SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
    JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    try (DirectoryStream<Path> files = Files.newDirectoryStream(schemaDir, "kr.mpe.*.json")) {
      for (Path file : files) {
        JsonNode schema = JSON.readTree(file.toFile());
        String type = file.getFileName().toString().replaceAll("\\.json$", "");
        schemas.put(type, factory.getSchema(schema, config));
        topics.add(schema.get("x-topic").asText());
      }
    }
  }

  public static void main(String[] argv) throws IOException {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      args.put(argv[i], argv[i + 1]);
    }
    String prefix = args.getOrDefault("--topic-prefix", "");
    Consumer app = new Consumer(Path.of(args.getOrDefault("--schemas", "../../shared/events/schemas")), prefix);
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args.getOrDefault("--bootstrap", "127.0.0.1:9092"));
    props.put(ConsumerConfig.GROUP_ID_CONFIG, args.getOrDefault("--group", "example-java-consumer"));
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    // A new group starts from the beginning: compaction kept every key's latest state.
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "5000");
    double idleExit = Double.parseDouble(args.getOrDefault("--idle-exit", "-1"));
    List<String> subscribed = new ArrayList<>();
    for (String topic : app.topics) {
      subscribed.add(prefix + topic);
    }
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(subscribed);
      double idle = 0;
      while (idleExit < 0 || idle < idleExit) {
        ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(500));
        if (records.isEmpty()) {
          // Idle time counts from the first event: joining the group takes a moment.
          idle += app.seen.isEmpty() ? 0 : 0.5;
          continue;
        }
        idle = 0;
        for (ConsumerRecord<String, byte[]> record : records) {
          app.apply(record);
        }
        consumer.commitSync();
      }
    }
    ObjectNode summary = JSON.createObjectNode();
    summary.putObject("summary").put("keys", app.versions.size()).put("events", app.seen.size()).put("invalid", app.invalid);
    System.out.println(summary);
    System.exit(app.invalid == 0 ? 0 : 1);
  }

  private static String header(ConsumerRecord<String, byte[]> record, String name) {
    Header h = record.headers().lastHeader(name);
    return h == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
  }

  private void apply(ConsumerRecord<String, byte[]> record) {
    String type = header(record, "ce_type");
    String id = header(record, "ce_id");
    String topic = record.topic().startsWith(prefix) ? record.topic().substring(prefix.length()) : record.topic();
    ObjectNode line = JSON.createObjectNode();
    line.put("topic", topic).put("key", record.key()).put("type", type).put("id", id);
    JsonSchema schema = schemas.get(type);
    if (schema == null) {
      // A type this consumer does not know yet (a new .vN): skip it and say so, never guess.
      System.out.println(line.put("outcome", "unknown type"));
      return;
    }
    JsonNode payload;
    try {
      UUID.fromString(id);
      payload = JSON.readTree(record.value());
    } catch (IOException | IllegalArgumentException | NullPointerException e) {
      invalid++;
      System.out.println(line.put("outcome", "invalid").put("error", String.valueOf(e.getMessage())));
      return;
    }
    Set<ValidationMessage> errors = schema.validate(payload);
    if (!errors.isEmpty()) {
      invalid++;
      System.out.println(line.put("outcome", "invalid").put("error", errors.iterator().next().getMessage()));
      return;
    }
    long version = payload.get("version").asLong();
    String key = topic + "/" + record.key();
    String outcome;
    if (seen.contains(id)) {
      outcome = "duplicate";
    } else if (versions.containsKey(key) && versions.get(key) >= version) {
      outcome = "stale";
    } else {
      versions.put(key, version);
      outcome = "applied";
    }
    seen.add(id);
    System.out.println(line.put("version", version).put("outcome", outcome));
  }
}
