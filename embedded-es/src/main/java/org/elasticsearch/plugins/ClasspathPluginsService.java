package org.elasticsearch.plugins;

import org.elasticsearch.action.admin.cluster.node.info.PluginsAndModules;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.jdk.ModuleQualifiedExportsService;

import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * A plugins service that instantiates plugin classes found on the JVM classpath instead of scanning
 * the modules/ and plugins/ directories of a distribution (which we do not have).
 *
 * It lives in org.elasticsearch.plugins because PluginsService.LoadedPlugin is package-private.
 */
public final class ClasspathPluginsService extends PluginsService {

    private final List<LoadedPlugin> loaded;

    public ClasspathPluginsService(Settings settings, Environment environment, Collection<Class<? extends Plugin>> classes) {
        super(settings, environment.configFile(), environment.modulesFile(), environment.pluginsFile());
        this.loaded = classes.stream().map(c -> load(c, settings, environment)).toList();
    }

    private static LoadedPlugin load(Class<? extends Plugin> pluginClass, Settings settings, Environment environment) {
        Plugin instance = loadPlugin(pluginClass, settings, environment.configFile());
        PluginDescriptor descriptor = new PluginDescriptor(
            pluginClass.getName(),
            "loaded from the classpath",
            "NA",
            org.elasticsearch.Build.current().version(),
            Integer.toString(Runtime.version().feature()),
            pluginClass.getName(),
            null,
            List.of(),
            false,
            false,
            false,
            false
        );
        return new LoadedPlugin(descriptor, instance);
    }

    /** The server runs from the classpath (unnamed module), so there are no qualified module exports to wire. */
    @Override
    protected void addServerExportsService(Map<String, List<ModuleQualifiedExportsService>> qualifiedExports) {}

    @Override
    protected List<LoadedPlugin> plugins() {
        return loaded;
    }

    @Override
    public PluginsAndModules info() {
        return new PluginsAndModules(List.of(), loaded.stream().map(LoadedPlugin::descriptor).toList());
    }
}
