package org.elasticsearch.node;

import io.ingestgateway.embedded.RootInfoPlugin;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.ClasspathPluginsService;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginsService;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One Elasticsearch node built directly from the server jar, with its plugins taken from the classpath.
 *
 * Lives in org.elasticsearch.node because NodeConstruction and NodeServiceProvider are package-private.
 * Building the node directly (not through org.elasticsearch.bootstrap) skips the production bootstrap
 * checks, which is what a local development and test node wants.
 *
 * Usage: java -cp ... org.elasticsearch.node.EmbeddedNode key=value ...
 * Every argument is an Elasticsearch setting; path.home is required.
 */
public final class EmbeddedNode extends Node {

    private static final List<Class<? extends Plugin>> PLUGINS = List.of(Netty4Plugin.class, RootInfoPlugin.class);

    private EmbeddedNode(Environment environment) {
        super(NodeConstruction.prepareConstruction(environment, new NodeServiceProvider() {
            @Override
            PluginsService newPluginService(Environment env, Settings settings) {
                return new ClasspathPluginsService(settings, env, PLUGINS);
            }
        }, true));
    }

    static Settings settingsFrom(String[] args) {
        Settings.Builder builder = Settings.builder()
            .put("cluster.name", "ingest-gateway")
            .put("node.name", "embedded")
            .put("network.host", "127.0.0.1")
            .put("http.port", "9200")
            .put("transport.port", "9300-9400")
            .put("discovery.type", "single-node")
            .put("node.portsfile", true)
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.destructive_requires_name", false);
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected key=value, got [" + arg + "]");
            }
            builder.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        if (builder.get("path.home") == null) {
            throw new IllegalArgumentException("path.home=<dir> is required");
        }
        return builder.build();
    }

    public static void main(String[] args) throws Exception {
        Settings settings = settingsFrom(args);
        Path home = Path.of(settings.get("path.home"));
        Files.createDirectories(home.resolve("config"));
        Files.createDirectories(home.resolve("plugins"));
        Files.createDirectories(home.resolve("modules"));
        Files.createDirectories(home.resolve("logs"));

        // Logging must be set up before anything in the server touches a logger.
        LogConfigurator.configureWithoutConfig(settings);
        LogConfigurator.setNodeName(settings.get("node.name"));

        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), home.resolve("config"), () -> settings.get("node.name"));
        EmbeddedNode node = new EmbeddedNode(environment);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "embedded-es-shutdown"));
        try {
            node.start();
        } catch (Throwable t) {
            t.printStackTrace();
            // A half-started node holds non-daemon threads; exit so the caller sees the failure.
            Runtime.getRuntime().halt(1);
        }
        System.out.println("embedded elasticsearch started");
        // Elasticsearch threads are daemons: keep the JVM alive until the shutdown hook has run.
        stopped.await();
    }
}
